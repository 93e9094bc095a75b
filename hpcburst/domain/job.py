"""What a user submits (JobSpec with its TaskSpecs) and the stored job record (Job).

A job holds one or more tasks. A sweep task runs its command once per index of
``start..end`` by ``step``; a basic task (no sweep) runs once, as index 0, without substitution.
Bad input raises pydantic's ValidationError; services turn it into InvalidSpec naming the field.
"""

from __future__ import annotations

import shlex
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hpcburst.domain.staging import InputFile, OutputFile
from hpcburst.domain.states import JobState, Priority

MAX_INDICES_PER_JOB = 10_000_000
_NAME = Field(default=None, max_length=200)


class SweepRange(BaseModel):
    """Indices start, start+step, ..., up to and including end (HPC Pack: StartValue/EndValue/IncrementValue)."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    step: int = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _end_not_before_start(self) -> SweepRange:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must not be below start ({self.start})")
        return self


class TaskSpec(BaseModel):
    """One task of a job: a sweep (``sweep`` set) or a basic task (``sweep`` None)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = _NAME
    command: str = Field(min_length=1, description="command line, run by the shell; `*` is the index")
    sweep: SweepRange | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    stdout: str | None = None  # file path on the node (relative to workdir); `*` is the index
    stderr: str | None = None
    max_run_time: float | None = Field(default=None, gt=0, description="seconds; the index is killed after")
    retries: int = Field(default=0, ge=0, le=100, description="re-runs of a failed index")
    max_running: int | None = Field(default=None, ge=1, description="cap on indices running at once")
    input_files: list[InputFile] = Field(default_factory=list)  # blobs placed in the workdir first
    output_files: list[OutputFile] = Field(default_factory=list)  # workdir files uploaded after

    @field_validator("command", mode="before")
    @classmethod
    def _argv_to_command_line(cls, value: Any) -> Any:
        # The CLI and SDK may pass argv; the scheduler keeps one command line (as HPC Pack does).
        if isinstance(value, list | tuple):
            return shlex.join(str(v) for v in value)
        return value

    @field_validator("command")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("command must not be blank")
        return value

    @field_validator("environment")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key or "=" in key or "\0" in key:
                raise ValueError(f"environment variable name {key!r} is not valid")
        return value


class JobSpec(BaseModel):
    """A job as submitted (HPC Pack: CreateJob + CreateTask + SubmitJob)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = _NAME
    owner: str | None = Field(default=None, max_length=200)
    priority: Priority = Priority.NORMAL
    pool: str | None = Field(default=None, max_length=100, description="node group the job must run on")
    never_burst: bool = False  # roadmap: keep this job on on-premises nodes
    # Each index runs in its own fresh directory on its node; True: a job's indices on a node share one
    # (``tasks/<job>/shared``), e.g. to reuse what an earlier index left behind.
    shared_workdir: bool = False
    tasks: list[TaskSpec] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _bounded(self) -> JobSpec:
        from hpcburst.domain.sweep import index_count

        total = sum(index_count(t) for t in self.tasks)
        if total > MAX_INDICES_PER_JOB:
            raise ValueError(f"a job may hold at most {MAX_INDICES_PER_JOB} indices, this one has {total}")
        return self


class Job(BaseModel):
    """The stored job document (container ``jobs``, partition = id)."""

    id: str
    name: str
    owner: str
    priority: Priority
    pool: str | None = None
    never_burst: bool = False
    shared_workdir: bool = False
    tasks: list[TaskSpec]
    state: JobState
    submitted_at: float  # epoch seconds
    started_at: float | None = None
    ended_at: float | None = None
    total: int  # indices over all tasks
    batch_size: int
    batches: int
    instance_id: str  # the job's orchestration instance
    message: str | None = None

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"id"})

    @classmethod
    def from_document(cls, id: str, body: dict[str, Any]) -> Job:
        return cls.model_validate({**body, "id": id})
