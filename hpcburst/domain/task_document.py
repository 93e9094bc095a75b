"""The stored task document (container ``tasks``, partition = job id, id = ``task_key``) as one typed model.

Field names are those stored. ``body()`` writes back exactly the fields that were read or set, none that
is None: a freshly dispatched index has no ``retry_count``, an ended one no ``open_batch`` or ``holder``,
so the stored JSON is what the dict code wrote (no migration). Unknown stored fields ride along (extra).

Documents the store hands back are validated (``stored``): measured, pydantic-core's validation (about 3 us
a document) is faster than ``model_construct``, which runs in Python (about 12 us), so skipping it buys nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

from hpcburst.domain.states import TaskState
from hpcburst.domain.task import OutputRef


class TaskDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    job: str
    task: int  # 1-based position of the task in the job
    index: int
    batch: int
    state: TaskState
    attempt: int = 0  # increases on every lease and fences results
    retry_count: int = 0  # re-runs after failures (CCP_RETRY_COUNT)
    # The batch while Queued or Running, None once ended: counting ``open_batch == b`` is an index-only count.
    open_batch: int | None = None
    node: str | None = None  # the node it last ran on
    holder: str | None = None  # the node while Running there: "what does X run" is an index lookup
    leased_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    timed_out: bool = False
    stdout: OutputRef | None = None
    stderr: OutputRef | None = None
    message: str | None = None
    given_back: int = 0  # times nodes gave it back unfinished (``leasing.FREE_GIVE_BACKS``)

    @field_serializer("stdout", "stderr")
    def _whole_ref(self, ref: OutputRef | None) -> dict[str, Any] | None:
        # Stored whole (``length`` null included), as results always were.
        return None if ref is None else ref.model_dump(mode="json")

    @classmethod
    def stored(cls, body: dict[str, Any]) -> TaskDocument:
        """A document as the store holds it (its body)."""
        return cls.model_validate(body)

    def body(self) -> dict[str, Any]:
        """The JSON to store: the fields read or set, none that is None."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)

    def changed(self, **fields: Any) -> TaskDocument:
        """A copy with ``fields`` set (None removes a field from the stored JSON)."""
        return self.model_copy(update=fields)
