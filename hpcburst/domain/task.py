"""The stored record of one index of a task (container ``tasks``, partition = job id).

Document id is ``"{job}.{task}.{index}"`` (``task_key``), also the id agents lease and report by.
``attempt`` increases on every lease and fences results: only the current attempt's leaseholder
may record a result. ``retry_count`` counts re-runs after failures (CCP_RETRY_COUNT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from hpcburst import constants as c
from hpcburst.domain.states import TaskState


class OutputRef(BaseModel):
    """Where an index's stdout or stderr bytes are: a blob, or a byte range of a shared segment blob."""

    container: str = c.BLOB_OUTPUT
    blob: str
    offset: int = Field(default=0, ge=0)
    length: int | None = Field(default=None, ge=0)  # None: to the end of the blob


def task_key(job: str, task: int, index: int) -> str:
    return f"{job}.{task}.{index}"


def parse_task_key(key: str) -> tuple[str, int, int]:
    """(job, task, index) from ``task_key`` output; ValueError when malformed."""
    job, task, index = key.rsplit(".", 2)
    if not job:
        raise ValueError(f"task id {key!r} has no job part")
    return job, int(task), int(index)


class TaskInstance(BaseModel):
    id: str
    job: str
    task: int  # 1-based position of the task in the job
    index: int
    batch: int
    state: TaskState
    attempt: int = 0
    retry_count: int = 0
    node: str | None = None
    leased_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    timed_out: bool = False
    stdout: OutputRef | None = None
    stderr: OutputRef | None = None
    message: str | None = None

    @model_serializer(mode="wrap")
    def _omit_none(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Unset facts (node, exit_code...) are left out, in the store and in API answers alike.
        return {k: v for k, v in handler(self).items() if v is not None}

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"id"})

    @classmethod
    def from_document(cls, id: str, body: dict[str, Any]) -> TaskInstance:
        return cls.model_validate({**body, "id": id})


class TaskView(TaskInstance):
    """One index as ``GET /api/jobs/{job}/tasks/{index}`` shows it: the record plus its substituted command."""

    command: str


@dataclass(frozen=True)
class OutputPage:
    """``data`` is the output's bytes from ``offset``; ``size`` is the whole output's length."""

    data: bytes
    offset: int
    size: int

    @property
    def truncated(self) -> bool:
        return self.offset + len(self.data) < self.size
