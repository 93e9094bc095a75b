"""What the burst controller reads from the cluster each tick: queued work per job, on-premises capacity per
pool, and the cloud nodes' registrations.

On-premises slots count toward the pool the node is in; slots of pools that do not burst are "spare": only
jobs that name no pool run there (the policy counts them for those jobs' home pool, against their work only).
SOA sessions add the service hosts they want and do not have, per burst pool (``soa_demand``: the broker's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.burst.models import BurstPool, QueuedWork, RunningIndex
from hpcburst.domain.burst.observe import Registered
from hpcburst.domain.burst.record import ClusterInputs
from hpcburst.domain.burst.soa import no_soa_demand
from hpcburst.domain.job import Job
from hpcburst.domain.states import NodeState, TaskState
from hpcburst.domain.task_document import TaskDocument
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.jobs import JobService
from hpcburst.services.runtimes import RuntimeStats
from hpcburst.storage.state.port import StateStore, query_all


@dataclass
class ClusterView:
    inputs: ClusterInputs = field(default_factory=ClusterInputs)  # what the policy reads
    cloud: dict[str, Registered] = field(default_factory=dict)  # registered cloud nodes by name
    jobs: list[Job] = field(default_factory=list)


def queued_work(job: Job, waiting: int, running: int, duration: float | None) -> QueuedWork | None:
    if waiting <= 0 or all(t.node is not None for t in job.tasks):
        return None  # nothing waits, or only named nodes may run it (clusrun): no new node would help
    room = None
    if all(t.max_running is not None for t in job.tasks):
        room = max(0, sum(t.max_running or 0 for t in job.tasks) - running)
    return QueuedWork(job=job.id, queued=waiting, may_burst=not job.never_burst, pool=job.pool,
                      running_room=room, duration=duration)  # fmt: skip


def running_indices(
    store: StateStore, job: Job, running: int, duration: float | None
) -> dict[str, list[RunningIndex]]:
    """Per node, the job's indices running there: since when, and when each should end."""
    found: dict[str, list[RunningIndex]] = {}
    where = {"state": TaskState.RUNNING.value}
    for doc in query_all(store, c.TASKS, partition=job.id, where=where, limit=min(max(running, 1), 1000)):
        task = TaskDocument.stored(doc.body)
        node, started = task.holder or task.node, task.leased_at
        if node is None or started is None:
            continue
        end = None if duration is None else started + duration
        found.setdefault(node, []).append(RunningIndex(started_at=started, expected_end=end))
    return found


def read_cluster(
    store: StateStore,
    catalog: JobCatalog,
    jobs: JobService,
    runtimes: RuntimeStats,
    pools: list[BurstPool],
    node_timeout: float,
    now: float,
    soa_demand: Callable[[str], int] = no_soa_demand,
) -> ClusterView:
    burst_pools = {p.name for p in pools}
    view = ClusterView(jobs=catalog.active())
    inputs = view.inputs
    inputs.soa_slots = {name: n for name in sorted(burst_pools) if (n := soa_demand(name)) > 0}
    on_node: dict[str, list[RunningIndex]] = {}
    for job in view.jobs:
        waiting, running = jobs.backlog(job)
        duration = runtimes.mean(job.id)
        work = queued_work(job, waiting, running, duration)
        if work is not None:
            inputs.work.append(work)
        if running:
            for node, indices in running_indices(store, job, running, duration).items():
                on_node.setdefault(node, []).extend(indices)
    for doc in query_all(store, c.NODES, limit=500):
        body = doc.body
        if body.get("cloud"):
            # What the store says it holds, not only its last heartbeat: a lease made since then must keep
            # a draining node from being deleted under its new index.
            held = on_node.get(doc.id, [])
            view.cloud[doc.id] = Registered(name=doc.id, state=body["state"],
                                            running=max(len(held), body.get("running", 0)), running_indices=held,
                                            registered_at=body["registered_at"],
                                            last_heartbeat=body["last_heartbeat"])  # fmt: skip
            continue
        if not _online(body, node_timeout, now):
            continue
        running = min(body.get("running", 0), body["slots"])
        free, pool = body["slots"] - running, doc.partition
        if pool in burst_pools:
            inputs.onprem_free[pool] = inputs.onprem_free.get(pool, 0) + free
            inputs.onprem_busy[pool] = inputs.onprem_busy.get(pool, 0) + running
            inputs.onprem_running.setdefault(pool, []).extend(on_node.get(doc.id, []))
        else:
            inputs.spare_free += free
            inputs.spare_busy += running
    return view


def onprem_online(store: StateStore, node_timeout: float, now: float) -> dict[str, int]:
    """Per pool, how many on-premises nodes are online: one node query (what ``job view`` needs to say why a
    job waits, without reading every job's work as a tick does)."""
    online: dict[str, int] = {}
    for doc in query_all(store, c.NODES, limit=500):
        if not doc.body.get("cloud") and _online(doc.body, node_timeout, now):
            online[doc.partition] = online.get(doc.partition, 0) + 1
    return online


def _online(body: dict[str, Any], node_timeout: float, now: float) -> bool:
    return bool(body["state"] == NodeState.ONLINE and now - body["last_heartbeat"] < node_timeout)
