"""Releasing dependent tasks: their indices wait (Submitted) until ``hpcburst.domain.dependencies.plan`` says
their parents have ended; then they are Queued, or Canceled when a failed parent dooms them.

``release`` is one pass over a job with dependencies: tally the parents (two index counts each), ask the rule,
flip the waiting documents of ready and doomed tasks. It runs after every write that can change the answer,
each side writing first and asking second, so no wake-up is lost between them: after dispatch creates waiting
documents, after a report ends a parent's index, and on every orchestrator event (a backstop). Jobs without
dependencies never get here: the lease path does not change at all.
"""

from __future__ import annotations

from typing import Any

from hpcburst import constants as c
from hpcburst.domain.dependencies import TaskTally, plan
from hpcburst.domain.job import Job
from hpcburst.domain.leasing import closed
from hpcburst.domain.states import TaskState
from hpcburst.domain.sweep import index_count
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict, NotFound
from hpcburst.services.batching import BATCH_OPS
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import StateStore, WriteOp

ENDED = [TaskState.FINISHED.value, TaskState.FAILED.value, TaskState.CANCELED.value]
NOT_FINISHED = [TaskState.FAILED.value, TaskState.CANCELED.value]
WAITING = TaskState.SUBMITTED.value  # the state of an index whose task waits on its parents


class DependencyService:
    def __init__(self, store: StateStore, signal: WorkSignal) -> None:
        self._store, self._signal = store, signal

    def release(self, job: Job) -> int:
        """One pass: queue the waiting indices of ready tasks, cancel those of doomed ones; how many moved."""
        if not job.has_dependencies or job.state.terminal:
            return 0
        graph = job.parents()
        parents = {p for ps in graph.values() for p in ps}
        tallies = {n: self._tally(job, n) for n in parents}
        decided = plan(graph, tallies, job.fail_dependent_tasks)
        queued = sum(self._flip(job.id, n, _queued) for n in decided.ready)
        doomed = sum(self._flip(job.id, n, _doomed) for n in decided.doomed)
        if queued:
            self._signal.notify()
        return queued + doomed

    def _tally(self, job: Job, task: int) -> TaskTally:
        count = self._store.count
        ended = count(c.TASKS, job.id, where={"task": task, "state": ENDED})
        failed = count(c.TASKS, job.id, where={"task": task, "state": NOT_FINISHED}) if ended else 0
        return TaskTally(total=index_count(job.tasks[task - 1]), ended=ended, failed=failed)

    def _flip(self, job_id: str, task: int, change: Any) -> int:
        moved = 0
        while True:
            page = self._store.query(c.TASKS, job_id, where={"task": task, "state": WAITING}, limit=BATCH_OPS)
            if not page.items:
                return moved
            ops = [WriteOp("replace", d.id, change(d.body), d.etag) for d in page.items]
            try:
                self._store.batch(c.TASKS, job_id, ops)
                moved += len(ops)
            except (Conflict, NotFound):
                continue  # a cancel or another pass raced us: read the page again


def _queued(body: dict[str, Any]) -> dict[str, Any]:
    return TaskDocument.stored(body).changed(state=TaskState.QUEUED).body()


def _doomed(body: dict[str, Any]) -> dict[str, Any]:
    doomed = TaskDocument.stored(body).changed(
        state=TaskState.CANCELED, message="canceled: a parent task failed"
    )
    return closed(doomed).body()
