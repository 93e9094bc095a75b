"""Per-index results: list a job's indices, view one, read its stdout/stderr from blob storage.

Output is read in bounded pages: at most ``max_bytes`` (``HPCBURST_MAX_OUTPUT_BYTES``, default 8 MiB) per
call, fetched as one byte range of the blob (``download_range``), never the whole blob. A Functions
``HttpResponse`` cannot stream, so bounded ranges are how the endpoint avoids loading a big output whole;
clients page on with ``offset``. Only refs to segment blobs the service itself named (under a node's
prefix in ``hpc-output``) are served.
"""

from __future__ import annotations

from hpcburst import constants as c
from hpcburst.domain.grants import served_ref
from hpcburst.domain.identity import Principal
from hpcburst.domain.job import Job
from hpcburst.domain.leasing import lease_for
from hpcburst.domain.planning import batch_of
from hpcburst.domain.states import TaskState
from hpcburst.domain.sweep import index_position
from hpcburst.domain.task import OutputPage, OutputRef, TaskInstance, TaskView, task_key
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.services.catalog import JobCatalog
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.state.port import StateStore

STREAMS = ("stdout", "stderr")
MAX_OUTPUT_BYTES = 8 * 1024 * 1024


class ResultsService:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        blobs: BlobStore | None = None,
        max_bytes: int = MAX_OUTPUT_BYTES,
    ) -> None:
        self._store, self._catalog, self._blobs, self.max_bytes = store, catalog, blobs, max_bytes

    def tasks(
        self,
        job_id: str,
        who: Principal,
        state: str | None = None,
        limit: int = 100,
        continuation: str | None = None,
    ) -> tuple[list[TaskInstance], str | None]:
        self._catalog.visible(job_id, who)  # NotFound for an unknown job, or another user's
        where = {} if state is None else {"state": _task_state(state)}
        page = self._store.query(
            c.TASKS, job_id, where=where, order_by="index", limit=limit, continuation=continuation
        )
        return [TaskInstance.from_document(d.id, d.body) for d in page.items], page.continuation

    def task(self, job_id: str, ref: str, who: Principal) -> TaskView:
        """One index: ``ref`` is "INDEX" (of the job's task holding it) or "TASK.INDEX"."""
        job = self._catalog.visible(job_id, who)
        task, index, position = resolve_ref(job, ref)
        key = task_key(job_id, task, index)
        try:
            body = self._store.get(c.TASKS, job_id, key).body
        except NotFound:  # not dispatched yet
            body = {
                "job": job_id,
                "task": task,
                "index": index,
                "batch": batch_of(job.tasks, job.batch_size, task, position, job.layout()),
                "state": TaskState.SUBMITTED.value,
                "attempt": 0,
            }
        command = lease_for(job, TaskDocument.stored(body), key).command
        return TaskView.model_validate({**body, "id": key, "command": command})

    def output(
        self, job_id: str, ref: str, stream: str, who: Principal, offset: int = 0, length: int | None = None
    ) -> OutputPage:
        """Up to ``min(length, max_bytes)`` bytes of an index's stdout/stderr from ``offset``."""
        if stream not in STREAMS:
            raise InvalidSpec(f"stream must be stdout or stderr, not {stream!r}")
        if offset < 0 or (length is not None and length < 0):
            raise InvalidSpec("offset and length must not be negative", field="offset")
        task = self.task(job_id, ref, who)
        out: OutputRef | None = getattr(task, stream)
        if out is None:
            raise NotFound(f"{task.id} has no {stream} (not run yet, or it wrote nothing)")
        if self._blobs is None:
            raise NotFound("no blob storage configured, so no task output is kept")
        if not served_ref(out):
            raise NotFound(
                f"{task.id} has no {stream} kept ({out.container}/{out.blob} is not a node's output)"
            )
        size = out.length
        if size is None:
            size = max(0, self._blobs.properties(out.container, out.blob).size - out.offset)
        if offset > size:
            raise InvalidSpec(f"offset {offset} is past the end of the output ({size} bytes)", field="offset")
        want = min(self.max_bytes if length is None else min(length, self.max_bytes), size - offset)
        data = self._blobs.download_range(out.container, out.blob, out.offset + offset, want) if want else b""
        return OutputPage(data, offset, size)


def resolve_ref(job: Job, ref: str) -> tuple[int, int, int]:
    """(task number, index, its position in the task) for "INDEX" or "TASK.INDEX"; NotFound when the
    job has no such index."""
    try:
        parts = [int(p) for p in ref.split(".")]
    except ValueError:
        raise InvalidSpec(f"task reference {ref!r} must be INDEX or TASK.INDEX (numbers)") from None
    if len(parts) == 2:
        task, index = parts
        position = index_position(job.tasks[task - 1], index) if 1 <= task <= len(job.tasks) else None
        if position is not None:
            return task, index, position
    elif len(parts) == 1:
        for number, spec in enumerate(job.tasks, start=1):
            position = index_position(spec, parts[0])
            if position is not None:
                return number, parts[0], position
    else:
        raise InvalidSpec(f"task reference {ref!r} must be INDEX or TASK.INDEX")
    raise NotFound(f"job {job.id} has no index {ref}")


def _task_state(state: str) -> str:
    try:
        return TaskState(state.capitalize() if state.islower() else state).value
    except ValueError:
        raise InvalidSpec(
            f"state {state!r} is not one of {', '.join(s.value for s in TaskState)}", field="state"
        ) from None
