"""Cost accounting from the burst record and the task documents (the rule: ``hpcburst.domain.cost``).

Which task documents are read: only those of indices that ran on a cloud node billing in the window, found
through the indexed ``node`` field with IN lists of those names (``IN_CHUNK`` a query). A 100k-index job
that ran on premises reads no task document; one that burst reads only its indices that ran on cloud nodes.

Why not store the cost on the job when it ends: a ``since`` window needs the run intervals anyway, a running
job has a cost so far, and a requeued job runs (and costs) again, so one read path serves all three. A job's
cost is cached as its counts are: while it runs for ``COST_TTL`` seconds, once it ended until it changes.
The price of reading it live: a node's price comes from the ledger, which forgets a node a month after it
is billed out; so does the cost of what ran on it.

Who sees what: a user sees their own jobs (``by=job``) and their own row (``by=user``); an admin sees
everyone's. ``by=pool`` (the cluster's spend and idle time) is for admins only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from hpcburst import constants as c
from hpcburst.domain.cost import BilledNode, CostBy, CostReport, Run, account, bills_within, report, run_of
from hpcburst.domain.identity import Principal
from hpcburst.domain.job import Job
from hpcburst.domain.task import TaskInstance
from hpcburst.errors import Forbidden, NotFound
from hpcburst.services.burst_store import BurstStore
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.pools import PoolService
from hpcburst.storage.state.port import StateStore, query_all

IN_CHUNK = 100  # node names per IN list: short queries on every store (SQLite caps bound variables)
COST_TTL = 5.0  # seconds a running job's cost is reused (`job wait` views a job several times a second)
CACHED_JOBS = 1000
UNKNOWN_OWNER = "?"  # a task whose job document is gone


class CostService:
    def __init__(
        self,
        store: StateStore,
        records: BurstStore,
        catalog: JobCatalog,
        pools: PoolService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store, self._records, self._catalog, self._pools = store, records, catalog, pools
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: OrderedDict[str, tuple[float, tuple[str, str], float]] = OrderedDict()

    def job_cost(self, job: Job) -> float:
        """Dollars of cloud node time the job's indices used so far (0.0: none ran on a cloud node)."""
        key, now = (job.state.value, job.instance_id), self._clock()
        with self._lock:
            hit = self._cached.get(job.id)
        if hit is not None and hit[1] == key and (job.state.terminal or now - hit[0] < COST_TTL):
            return hit[2]
        nodes = self._billed(job.submitted_at, now)
        cost = account(nodes, list(self._runs(nodes, [job.id], now)), job.submitted_at, now).jobs.get(
            job.id, 0.0
        )
        with self._lock:
            self._cached[job.id] = (now, key, cost)
            self._cached.move_to_end(job.id)
            while len(self._cached) > CACHED_JOBS:
                self._cached.popitem(last=False)
        return cost

    def report(self, who: Principal, by: CostBy, since: float | None = None) -> CostReport:
        """Cost rows ``by`` job, user or pool within [since, now] (``since`` None: all the ledger knows)."""
        if by == CostBy.POOL and not who.admin:
            raise Forbidden(f"only admins may see the cost by pool; {who.name} is not an admin")
        now = self._clock()
        t0 = 0.0 if since is None else min(since, now)
        nodes = self._billed(t0, now)
        jobs = None if who.admin else self._own_jobs(who.name, t0)
        accounts = account(nodes, list(self._runs(nodes, jobs, now)), t0, now)
        return report(accounts, by, since, now)

    def _billed(self, t0: float, t1: float) -> list[BilledNode]:
        """Every cloud node the ledger bills within [t0, t1], with its slot count."""
        record, _ = self._records.read()
        slots = {n.name: n.slots for n in record.stopped} | {n.name: n.slots for n in record.nodes}
        billed = [r for r in record.ledger.reservations if bills_within(r, t0, t1)]
        if any(r.node not in slots for r in billed):  # forgotten by the record: its pool's node size
            sizes = {p.name: p.burst.slots_per_node for p in self._pools.list_pools() if p.burst is not None}
            slots |= {r.node: sizes.get(r.pool, 1) for r in billed if r.node not in slots}
        return [BilledNode(reservation=r, slots=slots[r.node]) for r in billed]

    def _own_jobs(self, owner: str, t0: float) -> list[str]:
        """The owner's jobs that may have run since ``t0``."""
        docs = query_all(self._store, c.JOBS, where={"owner": owner}, limit=500)
        return [d.id for d in docs if (d.body.get("ended_at") or t0) >= t0]

    def _runs(self, nodes: list[BilledNode], jobs: list[str] | None, now: float) -> Iterator[Run]:
        """Runs on the nodes of the indices of ``jobs`` (None: of every job)."""
        names = sorted({n.reservation.node for n in nodes})
        partitions: list[str | None] = [None] if jobs is None else list(jobs)
        for start in range(0, len(names), IN_CHUNK):
            where = {"node": names[start : start + IN_CHUNK]}
            for partition in partitions:
                for doc in query_all(self._store, c.TASKS, partition=partition, where=where, limit=1000):
                    run = run_of(
                        TaskInstance.from_document(doc.id, doc.body), self._owner(doc.partition), now
                    )
                    if run is not None:
                        yield run

    def _owner(self, job_id: str) -> str:
        try:
            return self._catalog.get(job_id).owner
        except NotFound:
            return UNKNOWN_OWNER
