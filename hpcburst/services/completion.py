"""What the job orchestrator's activities ask of the store: which batches are done, and the final state.

A batch is complete when all its documents exist and none is still open. ``open_batches`` is the
ground truth the orchestrator falls back on when a "batch done" event was lost or came twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.leasing import OPEN_BATCH
from hpcburst.domain.planning import batch_length
from hpcburst.domain.states import OPEN_TASK_STATES, JobState, TaskState
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.jobs import JobService
from hpcburst.storage.state.port import StateStore, query_all


class CompletionService:
    def __init__(
        self, store: StateStore, catalog: JobCatalog, jobs: JobService, clock: Callable[[], float] = time.time
    ) -> None:
        self._store, self._catalog, self._jobs, self._clock = store, catalog, jobs, clock

    def complete_batches(self, job_id: str, batches: list[int]) -> list[int]:
        """The subset of ``batches`` whose every index exists and is Finished, Failed or Canceled."""
        job = self._catalog.get(job_id)
        done = []
        for batch in batches:
            size = batch_length(job.total, job.batch_size, batch)
            if self._store.count(c.TASKS, job_id, where={"batch": batch}) < size:
                continue
            if self._store.count(c.TASKS, job_id, where={OPEN_BATCH: batch}) == 0:
                done.append(batch)
        return done

    def canceled(self, job_id: str) -> bool:
        """Whether the job was stopped before its work ran out: canceled, or failed at once (a task with
        fail_job_on_failure failed, or it ran past its runtime). Either way nothing more is dispatched."""
        return self._store.get(c.JOBS, job_id, job_id).body["state"] in (JobState.CANCELED, JobState.FAILED)

    def open_batches(self, job_id: str) -> list[int]:
        docs = query_all(
            self._store, c.TASKS, partition=job_id, where={"state": list(OPEN_TASK_STATES)}, limit=1000
        )
        return sorted({TaskDocument.stored(d.body).batch for d in docs})

    def finish(self, job_id: str, instance: str | None = None) -> dict[str, Any]:
        """Set the job's final state from its indices: Canceled if canceled, else Failed if any failed; or,
        when indices are open again (a requeue), ``{"job", "open": [batches]}`` for the orchestration.

        ``instance``: the orchestration asking. A requeue may have reopened the job under a new one
        meanwhile; the job is then that one's to finish, so it is left as it is (``superseded_by``).

        Everything here is decided under the job document's etag: a requeue writes that document after
        reopening indices of a running job (and before touching those of an ended one), so a decision
        taken on indices it changed loses the final write and is taken again (``Requeuer.requeue_now``).
        """
        while True:
            doc = self._store.get(c.JOBS, job_id, job_id)
            current = doc.body["instance_id"]
            if instance is not None and current != instance:
                return {"job": job_id, "state": doc.body["state"], "superseded_by": current}
            if doc.body["state"] in (JobState.CANCELED, JobState.FAILED):  # stopped early
                # Documents a late dispatch may have created; stop if the job changes (a requeue reopened it).
                if self._jobs.cancel_open_tasks(job_id, still=self._unchanged(job_id, doc.etag)) is None:
                    continue
                final = JobState(doc.body["state"])
            elif still_open := self.open_batches(job_id):
                return {"job": job_id, "open": still_open}
            elif self._store.count(c.TASKS, job_id, where={"state": TaskState.FAILED.value}):
                final = JobState.FAILED
            elif self._store.count(c.TASKS, job_id, where={"state": TaskState.CANCELED.value}):
                final = JobState.CANCELED
            else:
                final = JobState.FINISHED
            body = {**doc.body, "state": final.value, "ended_at": doc.body.get("ended_at") or self._clock()}
            try:
                self._store.replace(c.JOBS, job_id, job_id, body, if_match=doc.etag)
            except Conflict:
                continue
            self._catalog.invalidate(job_id)
            return {"job": job_id, "state": final.value}

    def _unchanged(self, job_id: str, etag: str | None) -> Callable[[], bool]:
        """Whether the job document is still at ``etag``, asked anew on each call."""
        return lambda: self._store.get(c.JOBS, job_id, job_id).etag == etag
