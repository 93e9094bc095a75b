"""Dispatch: batches of a job's indices travel over the dispatch queue and become Queued task documents.

``enqueue`` (the orchestrator's activity) sends one message per call naming the job and batches;
``materialize`` (the queue trigger) creates the task documents. Messages arrive at least once, so
materializing is idempotent: a batch whose documents all exist is left alone and reported back
as complete when none of them is still open (so the orchestrator hears about it either way).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.job import Job
from hpcburst.domain.leasing import OPEN_BATCH, reopened
from hpcburst.domain.planning import batch_length, batch_members
from hpcburst.domain.states import TaskState
from hpcburst.domain.task import task_key
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict, InvalidSpec, NotFound
from hpcburst.services.batching import BATCH_OPS
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.dependencies import DependencyService
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.queue import claim_check
from hpcburst.storage.queue.port import WorkQueue
from hpcburst.storage.state.port import StateStore, WriteOp

CHUNK = BATCH_OPS  # documents per store batch (one transaction)


class DispatchService:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        signal: WorkSignal,
        queue: WorkQueue | None = None,
        blobs: BlobStore | None = None,
        clock: Callable[[], float] = time.time,
        dependencies: DependencyService | None = None,
    ) -> None:
        self._store, self._catalog, self._signal = store, catalog, signal
        self._queue, self._blobs, self._clock = queue, blobs, clock
        self._dependencies = dependencies

    def enqueue(self, job_id: str, batches: list[int]) -> None:
        """Send a dispatch message; without a queue (no storage account) materialize right here."""
        if self._queue is None:
            for batch in batches:
                self.materialize(job_id, batch)
            return
        self._queue.send(c.DISPATCH_QUEUE, json.dumps({"job": job_id, "batches": batches}))

    def materialize_message(self, body: str) -> list[tuple[str, int]]:
        """Handle one dispatch message; returns (job, batch) pairs found already complete."""
        if self._blobs is not None:
            body = claim_check.resolve(body, self._blobs)
        try:
            message = json.loads(body)
            job_id, batches = str(message["job"]), [int(b) for b in message["batches"]]
        except (ValueError, KeyError, TypeError):
            raise InvalidSpec(f"dispatch message is not {{job, batches}}: {body[:200]!r}") from None
        try:
            self._catalog.get(job_id)
        except NotFound:
            return []  # the job was deleted: nothing to run
        return [(job_id, b) for b in batches if self.materialize(job_id, b)]

    def materialize(self, job_id: str, batch: int) -> bool:
        """Create the task documents of one batch; True when the batch already existed and is done."""
        job = self._catalog.get(job_id, fresh=True)
        existing = self._store.count(c.TASKS, job_id, where={"batch": batch})
        if existing >= batch_length(job.total, job.batch_size, batch):
            return self._store.count(c.TASKS, job_id, where={OPEN_BATCH: batch}) == 0
        members = list(batch_members(job.tasks, job.batch_size, batch, job.layout()))
        dependent = {n for n, parents in job.parents().items() if parents} if job.has_dependencies else set()
        docs = [
            (task_key(job_id, t, i), _new_task(job_id, t, i, batch, _first_state(job, t in dependent)))
            for t, i in members
        ]
        for start in range(0, len(docs), CHUNK):
            self._create_all(job_id, docs[start : start + CHUNK])
        self._catalog.invalidate(job_id)  # its counts changed (Submitted -> Queued)
        self._signal.notify()
        if any(t in dependent for t, _ in members) and self._dependencies is not None:
            # Asked after writing: a parent that ended meanwhile finds these documents, or this finds it ended.
            self._dependencies.release(job)
            return self._store.count(c.TASKS, job_id, where={OPEN_BATCH: batch}) == 0
        return False

    def _create_all(self, job_id: str, docs: list[tuple[str, dict[str, Any]]]) -> None:
        try:
            self._store.batch(c.TASKS, job_id, [WriteOp("create", key, body) for key, body in docs])
        except Conflict:  # a redelivered message: some exist already; create the rest one by one
            for key, body in docs:
                try:
                    self._store.create(c.TASKS, job_id, key, body)
                except Conflict:
                    pass


def _first_state(job: Job, dependent: bool) -> TaskState:
    """Canceled in an ended job; waiting (Submitted) for a task with parents, until released; else Queued."""
    if job.state.terminal:
        return TaskState.CANCELED
    return TaskState.SUBMITTED if dependent else TaskState.QUEUED


def _new_task(job_id: str, task: int, index: int, batch: int, state: TaskState) -> dict[str, Any]:
    doc = TaskDocument(job=job_id, task=task, index=index, batch=batch, state=state, attempt=0)
    return (doc if state.terminal else reopened(doc)).body()
