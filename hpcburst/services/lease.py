"""Leasing: hand a node Queued indices, highest priority first, within caps, long-polling when idle.

Jobs of equal priority share a lease call in Balanced mode, one after another in Queued mode
(``hpcburst.domain.scheduling``).

Service hosts of SOA sessions come first: the broker's ``place_hosts`` takes the free slots it wants,
and tasks are leased in the rest (a waiting lease call is woken when a session wants hosts).

``lease_once`` is one synchronous pass (the store decides races with etags); ``lease`` repeats it
until work arrives or ``wait_seconds`` pass, sleeping on the process-local WorkSignal with a
periodic re-check (work may come from another instance). Passes in one process are serialized, so
they never race each other; across processes a lost compare-and-set just re-reads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from hpcburst import constants as c
from hpcburst.domain.job import Job
from hpcburst.domain.leasing import (
    OPEN_BATCH,
    cap_room,
    lease_count,
    lease_for,
    mark_leased,
    runs_on,
)
from hpcburst.domain.pinning import leasable_by
from hpcburst.domain.protocol import Lease, LeaseRequest, LeaseResponse
from hpcburst.domain.scheduling import SchedulingMode, balanced_shares, service_groups
from hpcburst.domain.soa.protocol import HostStart
from hpcburst.domain.states import JobState, NodeState, TaskState
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict, NotFound
from hpcburst.services.batching import chunks
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.grants import GrantService
from hpcburst.services.nodes import MAX_LEASE_WAIT, NodeService
from hpcburst.services.runtimes import RuntimeStats
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import Document, StateStore, WriteOp, query_all

RECHECK_SECONDS = 1.0  # store re-check while long-polling (work submitted through another instance)
CONFLICT_RETRIES = 3
PINNED_PAGE = 500  # documents per read while looking for a node's pinned indices among others'
Candidate = tuple[Document, TaskDocument]  # a Queued document as read (its etag) and typed once


class LeaseService:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        nodes: NodeService,
        signal: WorkSignal,
        runtimes: RuntimeStats,
        clock: Callable[[], float] = time.time,
        grants: GrantService | None = None,
        mode: SchedulingMode = SchedulingMode.BALANCED,
    ) -> None:
        self._store, self._catalog, self._nodes, self._signal = store, catalog, nodes, signal
        self._runtimes, self._clock, self._grants, self.mode = runtimes, clock, grants, mode
        self._lock = threading.Lock()
        # SOA service hosts to start on a node (the broker's place_hosts); they take free slots first
        self.place_hosts: Callable[[str, str, int, int | None], list[HostStart]] | None = None

    async def lease(self, req: LeaseRequest) -> LeaseResponse:
        deadline = time.monotonic() + min(req.wait_seconds, MAX_LEASE_WAIT)
        while True:
            seen = self._signal.generation
            response = await asyncio.to_thread(self.lease_once, req)
            remaining = deadline - time.monotonic()
            if (
                response.leases
                or response.hosts
                or response.cancel_runs
                or response.drain
                or req.free_slots == 0
                or remaining <= 0
            ):
                return response
            await self._signal.wait(seen, min(RECHECK_SECONDS, remaining))

    def lease_once(self, req: LeaseRequest) -> LeaseResponse:
        state, cloud = self._nodes.standing(req.pool, req.node)  # NotFound: register first
        cancel = self._nodes.stale(req.node, req.running) if req.running else []
        if state != NodeState.ONLINE:
            return LeaseResponse(cancel_runs=cancel, drain=state == NodeState.OFFLINE)
        self._nodes.expire(force=False)
        hosts = self.place_hosts(req.node, req.pool, req.free_slots, req.slots) if self.place_hosts else []
        if hosts:
            req = req.model_copy(update={"free_slots": req.free_slots - len(hosts)})
        with self._lock:
            leases = self._take(req, cloud)
        if self._grants is None:
            return LeaseResponse(leases=leases, hosts=hosts, cancel_runs=cancel)
        return LeaseResponse(
            leases=[self._granted(lease) for lease in leases],
            hosts=hosts,
            cancel_runs=cancel,
            segment=self._grants.segment(req.pool, req.node) if leases else None,
            packages_url=self._grants.packages_url(),
        )

    def _granted(self, lease: Lease) -> Lease:
        assert self._grants is not None
        grants = self._grants.lease_grants(lease)
        return lease.model_copy(update={"grants": grants}) if grants else lease

    def _take(self, req: LeaseRequest, cloud: bool = False) -> list[Lease]:
        active = self._catalog.active()
        jobs = (j for j in active if runs_on(j, req.pool, cloud, req.node) and not j.excludes(req.node))
        groups = service_groups(jobs, self.mode)
        if not groups or req.free_slots <= 0:
            return []
        wanted = lease_count(req.free_slots, self._runtimes.mean(groups[0][0].id))
        leases: list[Lease] = []
        for group in groups:
            if len(leases) >= wanted:
                break
            leases += self._take_shared(group, req.node, wanted - len(leases))
        return leases

    def _take_shared(self, jobs: list[Job], node: str, wanted: int) -> list[Lease]:
        """Up to ``wanted`` leases from jobs that share (``balanced_shares`` of what each holds); a job
        with fewer queued indices than its share leaves the rest to the others, in order."""
        if len(jobs) == 1:
            return self._take_from(jobs[0], node, wanted)
        held = [self._store.count(c.TASKS, j.id, where={"state": TaskState.RUNNING.value}) for j in jobs]
        leases: list[Lease] = []
        short: set[str] = set()  # jobs that ran out of leasable work
        for job, share in zip(jobs, balanced_shares(wanted, held), strict=True):
            taken = self._take_from(job, node, share) if share else []
            short |= {job.id} if len(taken) < share else set()
            leases += taken
        for job in jobs:
            if len(leases) >= wanted:
                break
            if job.id not in short:
                leases += self._take_from(job, node, wanted - len(leases))
        return leases

    def _take_from(self, job: Job, node: str, wanted: int) -> list[Lease]:
        leases: list[Lease] = []
        for _ in range(CONFLICT_RETRIES):
            docs = self._candidates(job, node, wanted - len(leases))
            if not docs:
                break
            lost = False
            for chunk in chunks(docs):
                taken = self._mark(job, node, chunk)
                lost |= taken is None
                leases += taken or []
            if not lost or len(leases) >= wanted:
                break
        if leases and job.state == JobState.QUEUED:
            self._mark_running(job.id, self._clock())
        return leases

    def _mark(self, job: Job, node: str, found: Sequence[Candidate]) -> list[Lease] | None:
        """Mark ``found`` Running for ``node`` in one compare-and-set batch; None when another leaser won."""
        now = self._clock()
        marked = [(d, mark_leased(t, node, now)) for d, t in found]
        ops = [WriteOp("replace", d.id, t.body(), d.etag) for d, t in marked]
        try:
            self._store.batch(c.TASKS, job.id, ops)
        except (Conflict, NotFound):
            return None
        return [lease_for(job, t, d.id) for d, t in marked]

    def _candidates(self, job: Job, node: str, wanted: int) -> list[Candidate]:
        """Up to ``wanted`` Queued documents of ``job`` that its tasks' max_running caps allow ``node``."""
        if not any(t.max_running is not None for t in job.tasks):
            return list(islice(self._queued(job, wanted, node), wanted))
        running: dict[int, int] = {}
        for doc in query_all(
            self._store, c.TASKS, partition=job.id, where={"state": TaskState.RUNNING.value}
        ):
            number = TaskDocument.stored(doc.body).task
            running[number] = running.get(number, 0) + 1
        room = {n: cap_room(t, running.get(n, 0)) for n, t in enumerate(job.tasks, start=1)}
        picked: list[Candidate] = []
        for doc, task in self._queued(job, max(wanted, 100), node):
            if len(picked) >= wanted or all(r == 0 for r in room.values()):
                break
            left = room[task.task]
            if left is None or left > 0:
                picked.append((doc, task))
                if left is not None:
                    room[task.task] = left - 1
        return picked

    def _queued(self, job: Job, page: int, node: str) -> Iterator[Candidate]:
        """Queued documents ``node`` may run (pins), lowest batch first (so batches complete in order and
        the orchestrator's window slides smoothly; retries and requeues in earlier batches come first).

        One query over the job's partition ordered by ``open_batch``, not one per batch: a job with less
        Queued work than a lease wants would otherwise cost a query per batch (thousands for a big sweep)
        on every lease pass. Only pins page further, to skip indices pinned to other nodes.

        Each document is typed as it is consumed, once: validation costs microseconds a document, so
        one a lease never reaches is never typed, and ``_mark`` reuses the typed one."""
        mine = leasable_by(job, node)
        size = page if mine is None else max(page, PINNED_PAGE)  # skip others' pins in few reads
        where = {"state": TaskState.QUEUED.value}
        if mine is None:
            docs: Iterable[Document] = self._store.query(
                c.TASKS, job.id, where=where, order_by=OPEN_BATCH, limit=size
            ).items
            yield from ((doc, TaskDocument.stored(doc.body)) for doc in docs)
            return
        docs = query_all(self._store, c.TASKS, partition=job.id, where=where, order_by=OPEN_BATCH, limit=size)
        typed = ((doc, TaskDocument.stored(doc.body)) for doc in docs)
        yield from ((doc, task) for doc, task in typed if mine(task))  # others' pins are never leased here

    def _mark_running(self, job_id: str, now: float) -> None:
        try:
            doc = self._store.get(c.JOBS, job_id, job_id)
            if doc.body["state"] == JobState.QUEUED:
                body = {
                    **doc.body,
                    "state": JobState.RUNNING.value,
                    "started_at": doc.body.get("started_at") or now,
                }
                self._store.replace(c.JOBS, job_id, job_id, body, if_match=doc.etag)
                self._catalog.invalidate(job_id)
        except (Conflict, NotFound):
            pass  # canceled or finished meanwhile: its own writer wins
