"""Per-index results: list a job's indices, view one, read its stdout/stderr from blob storage."""

from __future__ import annotations

from hpcburst import constants as c
from hpcburst.domain.job import Job
from hpcburst.domain.leasing import lease_for
from hpcburst.domain.planning import batch_of
from hpcburst.domain.states import TaskState
from hpcburst.domain.sweep import index_position
from hpcburst.domain.task import OutputRef, TaskInstance, TaskView, task_key
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.services.catalog import JobCatalog
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.state.port import StateStore

STREAMS = ("stdout", "stderr")


class ResultsService:
    def __init__(self, store: StateStore, catalog: JobCatalog, blobs: BlobStore | None = None) -> None:
        self._store, self._catalog, self._blobs = store, catalog, blobs

    def tasks(
        self, job_id: str, state: str | None = None, limit: int = 100, continuation: str | None = None
    ) -> tuple[list[TaskInstance], str | None]:
        self._catalog.get(job_id)  # NotFound for an unknown job
        where = {} if state is None else {"state": _task_state(state)}
        page = self._store.query(
            c.TASKS, job_id, where=where, order_by="index", limit=limit, continuation=continuation
        )
        return [TaskInstance.from_document(d.id, d.body) for d in page.items], page.continuation

    def task(self, job_id: str, ref: str) -> TaskView:
        """One index: ``ref`` is "INDEX" (of the job's task holding it) or "TASK.INDEX"."""
        job = self._catalog.get(job_id)
        task, index, position = resolve_ref(job, ref)
        key = task_key(job_id, task, index)
        try:
            body = self._store.get(c.TASKS, job_id, key).body
        except NotFound:  # not dispatched yet
            body = {
                "job": job_id,
                "task": task,
                "index": index,
                "batch": batch_of(job.tasks, job.batch_size, task, position),
                "state": TaskState.SUBMITTED.value,
                "attempt": 0,
            }
        command = lease_for(job, {**body, "attempt": body.get("attempt", 0)}, key).command
        return TaskView.model_validate({**body, "id": key, "command": command})

    def output(self, job_id: str, ref: str, stream: str) -> bytes:
        if stream not in STREAMS:
            raise InvalidSpec(f"stream must be stdout or stderr, not {stream!r}")
        task = self.task(job_id, ref)
        out: OutputRef | None = getattr(task, stream)
        if out is None:
            raise NotFound(f"{task.id} has no {stream} (not run yet, or it wrote nothing)")
        if self._blobs is None:
            raise NotFound("no blob storage configured, so no task output is kept")
        if out.length is None:
            data = self._blobs.get(out.container, out.blob)
            return data[out.offset :]
        if out.length == 0:
            return b""
        return self._blobs.download_range(out.container, out.blob, out.offset, out.length)


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
