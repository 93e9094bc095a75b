"""Requeue: Failed and Canceled indices of a job go back to Queued with fresh retries.

A running job's orchestration is told which batches reopened; an ended job is reopened under a new
orchestration instance. ``JobService.requeue`` delegates here. The store work runs in a worker thread:
a requeue may write thousands of documents, and the caller's event loop also serves lease long-polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.identity import Principal
from hpcburst.domain.job import Job, RequeueResult
from hpcburst.domain.leasing import reopened
from hpcburst.domain.states import REQUEUABLE_TASK_STATES, JobState, TaskState
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict, InvalidState, NotFound
from hpcburst.services.batching import BATCH_OPS
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.dependencies import DependencyService
from hpcburst.services.orchestrations import Orchestrations, instance_id, orchestrator_input
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import Document, Page, StateStore, WriteOp

PAGE = BATCH_OPS  # one store batch per page
Stored = tuple[Document, TaskDocument]  # a task document as read (etag) and typed, converted once


class Requeuer:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        signal: WorkSignal,
        clock: Callable[[], float] = time.time,
        dependencies: DependencyService | None = None,
    ) -> None:
        self._store, self._catalog, self._signal, self._clock = store, catalog, signal, clock
        self._dependencies = dependencies  # releases requeued dependent indices whose parents have ended

    async def requeue(
        self, job_id: str, orchestrations: Orchestrations, who: Principal, indices: list[int] | None = None
    ) -> RequeueResult:
        """Failed and Canceled indices (all, or those listed) go back to Queued with fresh retries."""
        await asyncio.to_thread(self._catalog.visible, job_id, who)
        job, requeued, reopened = await asyncio.to_thread(self.requeue_now, job_id, indices)
        batches = sorted(set(requeued))
        if reopened is None:
            await orchestrations.raise_event(job.instance_id, {"kind": "requeue", "batches": batches})
        else:
            await self._restart(job, reopened, batches, orchestrations)
        self._catalog.invalidate(job_id)
        self._signal.notify()
        return RequeueResult(job=job_id, requeued=len(requeued), batches=batches)

    def requeue_now(self, job_id: str, indices: list[int] | None) -> tuple[Job, list[int], Job | None]:
        """The job as last written before the requeue, the batch of every index put back in the queue, and
        the job reopened under a new orchestration (None: its running one was told).

        Races with the orchestration's ``CompletionService.finish`` are settled on the job document, which
        both compare-and-set: an ended job is reopened *before* its indices change (a finish still
        canceling stragglers sees the job change and stops, so it never cancels them again); a running
        job's indices change first and the job is written after (a finish that looked at the indices
        before then loses its write and looks again, or, had it already written, the job is reopened)."""
        job = self._catalog.get(job_id, fresh=True)
        wanted = None if indices is None else set(indices)
        reopened: Job | None = None
        if job.state.terminal:
            if not (job.state == JobState.CANCELED and wanted is None) and not self._requeuable(
                job_id, wanted
            ):
                raise InvalidState(f"job {job_id} has no Failed or Canceled indices to requeue")
            job, reopened = self._reopen_or_touch(job_id)
        requeued = self._requeue_all(job, wanted)
        if reopened is None:
            if not requeued:
                raise InvalidState(f"job {job_id} has no Failed or Canceled indices to requeue")
            job, reopened = self._reopen_or_touch(job_id)
        if job.has_dependencies and self._dependencies is not None:
            self._dependencies.release(job.model_copy(update={"state": JobState.QUEUED}))
        return job, requeued, reopened

    def _requeue_all(self, job: Job, wanted: set[int] | None) -> list[int]:
        # A dependent task's indices wait again for their parents, which may be requeued alongside them.
        dependent = {n for n, ps in job.parents().items() if ps} if job.has_dependencies else set()
        requeued: list[int] = []  # the batch of every requeued index
        continuation: str | None = None
        while True:  # keyset paging stays correct while we change the documents we paged past
            page = self._requeuable_page(job.id, continuation)
            read = [(d, TaskDocument.stored(d.body)) for d in page.items]
            docs = [(d, t) for d, t in read if wanted is None or t.index in wanted]
            requeued += self._requeue_docs(job.id, docs, dependent) if docs else []
            if page.continuation is None:
                return requeued
            continuation = page.continuation

    def _requeuable_page(self, job_id: str, continuation: str | None) -> Page:
        where = {"state": list(REQUEUABLE_TASK_STATES)}
        return self._store.query(c.TASKS, job_id, where=where, limit=PAGE, continuation=continuation)

    def _requeuable(self, job_id: str, wanted: set[int] | None) -> bool:
        """Whether any index (of ``wanted``) is Failed or Canceled."""
        continuation: str | None = None
        while True:
            page = self._requeuable_page(job_id, continuation)
            if page.items and (
                wanted is None or any(TaskDocument.stored(d.body).index in wanted for d in page.items)
            ):
                return True
            if page.continuation is None:
                return False
            continuation = page.continuation

    def _reopen_or_touch(self, job_id: str) -> tuple[Job, Job | None]:
        """Compare-and-set the job for a requeue: an ended job is reopened (Queued, under a new orchestration
        instance), a running one gets ``requeued_at``. Returns the job before and, when reopened, after."""
        while True:
            doc = self._store.get(c.JOBS, job_id, job_id)
            before = Job.from_document(job_id, doc.body)
            if before.state.terminal:
                body = _reopen_job(doc.body, next_instance(before))
            else:
                body = {**doc.body, "requeued_at": self._clock()}
            try:
                saved = self._store.replace(c.JOBS, job_id, job_id, body, if_match=doc.etag)
            except Conflict:
                continue
            after = Job.from_document(job_id, saved.body)
            return before, after if before.state.terminal else None

    def _requeue_docs(self, job_id: str, docs: list[Stored], dependent: set[int]) -> list[int]:
        """Requeue ``docs``; on a lost race fall back to one by one (re-reading each). Returns their batches."""
        try:
            ops = [WriteOp("replace", d.id, _requeued(t, dependent).body(), d.etag) for d, t in docs]
            self._store.batch(c.TASKS, job_id, ops)
            return [t.batch for _, t in docs]
        except (Conflict, NotFound):
            pass
        batches = []
        for d, _ in docs:
            try:
                fresh = self._store.get(c.TASKS, job_id, d.id)
                task = TaskDocument.stored(fresh.body)
                if task.state in REQUEUABLE_TASK_STATES:
                    body = _requeued(task, dependent).body()
                    self._store.replace(c.TASKS, job_id, d.id, body, if_match=fresh.etag)
                    batches.append(task.batch)
            except (Conflict, NotFound):
                pass
        return batches

    async def _restart(
        self, ended: Job, restarted: Job, batches: list[int], orchestrations: Orchestrations
    ) -> None:
        """Start the reopened job's new orchestration, waiting for ``batches``."""
        # A job canceled, or failed at once (fail_job_on_failure, runtime), may have batches never
        # dispatched: walk the window again then (dispatch is idempotent).
        undispatched = ended.state == JobState.CANCELED or await asyncio.to_thread(self._undispatched, ended)
        next_batch = 0 if undispatched else ended.batches
        await orchestrations.start(restarted.instance_id, orchestrator_input(restarted, next_batch, batches))
        self._catalog.invalidate(ended.id)

    def _undispatched(self, job: Job) -> bool:
        return self._store.count(c.TASKS, job.id) < job.total


def next_instance(job: Job) -> str:
    """The orchestration instance a reopened job runs under: ``job-<id>-r<n>``, n one more each time."""
    generation = int(job.instance_id.rsplit("-r", 1)[1]) + 1 if "-r" in job.instance_id else 1
    return instance_id(job.id, generation)


def _reopen_job(body: dict[str, Any], new_instance: str) -> dict[str, Any]:
    reopened = {**body, "state": JobState.QUEUED.value, "instance_id": new_instance}
    for fact in ("ended_at", "message", "forced"):
        reopened.pop(fact, None)
    return reopened


def _requeued(old: TaskDocument, dependent: set[int]) -> TaskDocument:
    """A fresh start: only who it is and its attempt (which keeps fencing) survive."""
    state = TaskState.SUBMITTED if old.task in dependent else TaskState.QUEUED  # waits for its parents
    fresh = TaskDocument(job=old.job, task=old.task, index=old.index, batch=old.batch, attempt=old.attempt,
                         state=state, retry_count=0)  # fmt: skip
    return reopened(fresh)
