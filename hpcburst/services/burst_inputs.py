"""What the burst controller reads from the cluster each tick: queued work per job, on-premises capacity per
pool, and the cloud nodes' registrations.

On-premises slots count toward the pool the node is in; slots of pools that do not burst are "spare": only
jobs that name no pool run there (the policy counts them for those jobs' home pool, against their work only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hpcburst import constants as c
from hpcburst.domain.burst.models import BurstPool, QueuedWork
from hpcburst.domain.burst.observe import Registered
from hpcburst.domain.job import Job
from hpcburst.domain.states import NodeState
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.jobs import JobService
from hpcburst.services.runtimes import RuntimeStats
from hpcburst.storage.state.port import StateStore, query_all


@dataclass
class ClusterView:
    work: list[QueuedWork] = field(default_factory=list)
    onprem_free: dict[str, int] = field(default_factory=dict)
    onprem_busy: dict[str, int] = field(default_factory=dict)
    onprem_spare_free: int = 0  # slots of pools that do not burst (jobs naming no pool run there)
    onprem_spare_busy: int = 0
    onprem_online: dict[str, int] = field(default_factory=dict)  # pool -> on-premises nodes online
    cloud: dict[str, Registered] = field(default_factory=dict)  # registered cloud nodes by name
    jobs: list[Job] = field(default_factory=list)


def queued_work(jobs: JobService, job: Job, runtimes: RuntimeStats) -> QueuedWork | None:
    waiting, running = jobs.backlog(job)
    if waiting <= 0:
        return None
    room = None
    if all(t.max_running is not None for t in job.tasks):
        room = max(0, sum(t.max_running or 0 for t in job.tasks) - running)
    return QueuedWork(job=job.id, queued=waiting, may_burst=not job.never_burst, pool=job.pool,
                      running_room=room, duration=runtimes.mean(job.id))  # fmt: skip


def read_cluster(
    store: StateStore,
    catalog: JobCatalog,
    jobs: JobService,
    runtimes: RuntimeStats,
    pools: list[BurstPool],
    node_timeout: float,
    now: float,
) -> ClusterView:
    burst_pools = {p.name for p in pools}
    view = ClusterView(jobs=catalog.active())
    for job in view.jobs:
        work = queued_work(jobs, job, runtimes)
        if work is not None:
            view.work.append(work)
    for doc in query_all(store, c.NODES, limit=500):
        body = doc.body
        if body.get("cloud"):
            view.cloud[doc.id] = Registered(name=doc.id, state=body["state"], running=body.get("running", 0),
                                            registered_at=body["registered_at"],
                                            last_heartbeat=body["last_heartbeat"])  # fmt: skip
            continue
        if body["state"] != NodeState.ONLINE or now - body["last_heartbeat"] >= node_timeout:
            continue
        running = min(body.get("running", 0), body["slots"])
        free, pool = body["slots"] - running, doc.partition
        view.onprem_online[pool] = view.onprem_online.get(pool, 0) + 1
        if pool in burst_pools:
            view.onprem_free[pool] = view.onprem_free.get(pool, 0) + free
            view.onprem_busy[pool] = view.onprem_busy.get(pool, 0) + running
        else:
            view.onprem_spare_free += free
            view.onprem_spare_busy += running
    return view
