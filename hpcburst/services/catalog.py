"""Job documents as the hot paths need them: cached, because leases and reports read them constantly.

A job's tasks never change after submission, so a cached Job is good for everything but its
state; ``active`` (jobs that may have Queued work) is re-read at most every ``ttl`` seconds or
after ``invalidate`` (submit, cancel, finish in this process). ``invalidate`` also notifies ``changed``,
which long-polling views of a job wait on.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from hpcburst import constants as c
from hpcburst.domain.identity import Principal
from hpcburst.domain.job import Job
from hpcburst.domain.states import JobState
from hpcburst.errors import NotFound
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import StateStore, query_all

ACTIVE_STATES = [JobState.QUEUED.value, JobState.RUNNING.value]
META_PARTITION = "_meta"  # the job id counter lives here; never a job
COUNTS_TTL = 1.0
_MISSING = "job {job_id} not found (hpcburst job list shows the jobs)"


class JobCatalog:
    def __init__(
        self,
        store: StateStore,
        ttl: float = 1.0,
        size: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._ttl, self._size, self._clock = store, ttl, size, clock
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._active: list[Job] | None = None
        self._counts: dict[str, tuple[float, tuple[str, str], dict[str, int]]] = {}
        self._active_at = 0.0
        self.changed = WorkSignal()  # a job's state changed in this process (watchers look again)

    def get(self, job_id: str, fresh: bool = False) -> Job:
        """The job (NotFound if missing); ``fresh`` re-reads it (for its current state)."""
        with self._lock:
            job = None if fresh else self._jobs.get(job_id)
        if job is None:
            try:
                doc = self._store.get(c.JOBS, job_id, job_id)
            except NotFound:
                raise NotFound(_MISSING.format(job_id=job_id)) from None
            job = Job.from_document(doc.id, doc.body)
            self._remember(job)
        return job

    def visible(self, job_id: str, who: Principal, fresh: bool = False) -> Job:
        """The job if ``who`` may see it; another user's job is NotFound, word for word as a missing one,
        so job ids cannot be probed."""
        job = self.get(job_id, fresh=fresh)
        if not who.owns(job.owner):
            raise NotFound(_MISSING.format(job_id=job_id))
        return job

    def active(self) -> list[Job]:
        """Jobs in Queued or Running state (at most ``ttl`` seconds old)."""
        with self._lock:
            if self._active is not None and self._clock() - self._active_at < self._ttl:
                return self._active
        docs = query_all(self._store, c.JOBS, where={"state": ACTIVE_STATES}, limit=500)
        jobs = [Job.from_document(d.id, d.body) for d in docs if d.partition != META_PARTITION]
        with self._lock:
            self._active, self._active_at = jobs, self._clock()
        for job in jobs:
            self._remember(job)
        return jobs

    def invalidate(self, job_id: str | None = None) -> None:
        with self._lock:
            self._active = None
            if job_id is not None:
                self._jobs.pop(job_id, None)
                self._counts.pop(job_id, None)
        self.changed.notify()

    def counts(self, job: Job, compute: Callable[[], dict[str, int]]) -> dict[str, int]:
        """A job's per-state counts, recomputed at most every ``COUNTS_TTL`` seconds while it runs
        (counting a 100k-index job reads its whole index; progress bars poll many times a second).
        A change of state or orchestration, or ``invalidate``, recomputes at once."""
        key = (job.state.value, job.instance_id)
        with self._lock:
            hit = self._counts.get(job.id)
        now = self._clock()
        if hit is not None and hit[1] == key and (job.state.terminal or now - hit[0] < COUNTS_TTL):
            return dict(hit[2])
        counts = compute()
        with self._lock:
            self._counts[job.id] = (now, key, counts)
            while len(self._counts) > self._size:
                self._counts.pop(next(iter(self._counts)))
        return dict(counts)

    def _remember(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            self._jobs.move_to_end(job.id)
            while len(self._jobs) > self._size:
                self._jobs.popitem(last=False)
