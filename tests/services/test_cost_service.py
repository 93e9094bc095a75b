"""Cost accounting on a real state store: job views show a job's share, reports go by job, user and pool."""

from __future__ import annotations

import asyncio

import pytest
from principals import ADMIN, ALICE, BOB

from hpcburst import constants as c
from hpcburst.domain.burst.models import CloudNode, NodeState
from hpcburst.domain.burst.record import BurstRecord, StoppedNode
from hpcburst.domain.cost import CostBy
from hpcburst.domain.job import JobSpec
from hpcburst.errors import Forbidden
from hpcburst.services.cost import CostService

CLOUD = "default-00001"
PRICE = 3.60  # $ per node-hour: $0.001 per node-second


def bill(cluster, name: str = CLOUD, slots: int = 1) -> None:
    """The burst controller created ``name`` now: its reservation in the ledger, the node in the record."""
    now = cluster.clock.now

    def created(record: BurstRecord) -> BurstRecord:
        node = CloudNode(name=name, pool="default", state=NodeState.ONLINE, created_at=now, slots=slots)
        ledger = record.ledger.reserve(name, "default", PRICE, 60.0, now)
        return record.model_copy(update={"ledger": ledger, "nodes": [*record.nodes, node]})

    cluster.s.burst.records.update(created)
    cluster.register(name, slots=slots, cloud=True)


def stop(cluster, name: str = CLOUD) -> None:
    """The controller deleted ``name`` now: released in the ledger, remembered as a stopped node."""
    now = cluster.clock.now

    def stopped(record: BurstRecord) -> BurstRecord:
        (node,) = [n for n in record.nodes if n.name == name]
        gone = StoppedNode(name=name, pool=node.pool, created_at=node.created_at, stopped_at=now,
                           cause="idle", slots=node.slots)  # fmt: skip
        return record.model_copy(update={"ledger": record.ledger.release(name, now), "stopped": [gone],
                                         "nodes": [n for n in record.nodes if n.name != name]})  # fmt: skip

    cluster.s.burst.records.update(stopped)


def submit_as(cluster, owner: str, indices: int = 1) -> str:
    spec = JobSpec.model_validate({"tasks": [{"command": "work *", "sweep": {"start": 1, "end": indices}}]})
    return asyncio.run(cluster.s.jobs.submit(spec, cluster.orch, owner=owner)).id


def run_all(cluster, node: str, slots: int, seconds: float) -> None:
    """``node`` leases what it can and finishes each in ``seconds``, side by side; the clock moves past."""
    for lease in cluster.lease(node, slots=slots).leases:
        cluster.finish(node, lease, seconds=seconds)
    cluster.clock.advance(seconds)


def test_a_job_view_shows_its_share_of_the_cloud_node_by_the_slots_its_indices_used(cluster):
    bill(cluster, slots=4)
    job = submit_as(cluster, "alice", indices=2)
    run_all(cluster, CLOUD, slots=4, seconds=100)
    assert cluster.s.jobs.view(job, ALICE).cost == pytest.approx(2 * 100 * 0.001 / 4)


def test_a_job_that_ran_on_premises_costs_nothing_though_cloud_nodes_billed_meanwhile(cluster):
    bill(cluster)
    job = submit_as(cluster, "alice", indices=2)
    cluster.register("lab-1", slots=2)
    run_all(cluster, "lab-1", slots=2, seconds=100)
    assert cluster.s.jobs.view(job, ALICE).cost == 0.0


def test_a_running_jobs_cost_grows_from_each_lease_until_now(cluster):
    bill(cluster, slots=2)
    job = submit_as(cluster, "alice", indices=1)
    cluster.lease(CLOUD, slots=2)
    cluster.clock.advance(30)
    assert cluster.s.jobs.view(job, ALICE).cost == pytest.approx(30 * 0.001 / 2)
    cluster.clock.advance(30)
    assert cluster.s.jobs.view(job, ALICE).cost == pytest.approx(60 * 0.001 / 2)


def test_a_stopped_nodes_time_is_still_charged_at_its_slot_count(cluster):
    bill(cluster, slots=2)
    job = submit_as(cluster, "alice", indices=1)
    run_all(cluster, CLOUD, slots=2, seconds=100)
    stop(cluster)
    cluster.clock.advance(10)
    assert cluster.s.jobs.view(job, ALICE).cost == pytest.approx(100 * 0.001 / 2)


class TaskReadCounter:
    """A state store that counts the task documents its queries return; everything else passes through."""

    def __init__(self, store) -> None:
        self._store, self.read = store, 0

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def query(self, container: str, *args, **kwargs):
        page = self._store.query(container, *args, **kwargs)
        self.read += len(page.items) if container == c.TASKS else 0
        return page


def test_a_jobs_cost_reads_only_its_indices_that_ran_on_cloud_nodes(cluster):
    bill(cluster, slots=2)
    job = submit_as(cluster, "alice", indices=50)
    cluster.register("lab-1", slots=48)
    run_all(cluster, CLOUD, slots=2, seconds=100)
    run_all(cluster, "lab-1", slots=48, seconds=100)
    counter = TaskReadCounter(cluster.s.store)
    s = cluster.s
    cost = CostService(counter, s.burst.records, s.catalog, s.pools, clock=cluster.clock).job_cost(
        s.catalog.get(job, fresh=True)
    )
    assert (cost, counter.read) == (pytest.approx(2 * 100 * 0.001 / 2), 2)


def alice_then_bob(cluster) -> tuple[str, str]:
    """On one single-slot node: alice's index runs 100 s, then bob's 300 s, then the node idles 100 s."""
    bill(cluster, slots=1)
    alice = submit_as(cluster, "alice")
    run_all(cluster, CLOUD, slots=1, seconds=100)
    bob = submit_as(cluster, "bob")
    run_all(cluster, CLOUD, slots=1, seconds=300)
    cluster.clock.advance(100)
    return alice, bob


def test_a_user_sees_the_cost_of_their_own_jobs_and_their_own_row_only(cluster):
    alice, _ = alice_then_bob(cluster)
    by_job = cluster.s.cost.report(ALICE, CostBy.JOB)
    assert [(r.name, r.owner, r.cost) for r in by_job.rows] == [(alice, "alice", pytest.approx(0.1))]
    assert by_job.total == pytest.approx(0.1)
    assert [(r.name, r.cost) for r in cluster.s.cost.report(ALICE, CostBy.USER).rows] == [
        ("alice", pytest.approx(0.1))
    ]


def test_the_cost_by_pool_is_for_admins_only(cluster):
    alice_then_bob(cluster)
    with pytest.raises(Forbidden):
        cluster.s.cost.report(BOB, CostBy.POOL)


def test_an_admin_sees_every_user_and_each_pools_spend_split_into_used_and_idle(cluster):
    alice_then_bob(cluster)
    by_user = cluster.s.cost.report(ADMIN, CostBy.USER)
    assert [(r.name, r.cost) for r in by_user.rows] == [
        ("bob", pytest.approx(0.3)),
        ("alice", pytest.approx(0.1)),
    ]
    (pool,) = cluster.s.cost.report(ADMIN, CostBy.POOL).rows
    assert pool.name == "default"
    assert (pool.cost, pool.used, pool.idle) == pytest.approx((0.5, 0.4, 0.1))


def test_since_windows_both_the_spend_and_the_jobs_costs(cluster):
    start = cluster.clock.now
    _, bob = alice_then_bob(cluster)
    window = cluster.s.cost.report(ADMIN, CostBy.JOB, since=start + 200)
    assert [(r.name, r.cost) for r in window.rows] == [(bob, pytest.approx(0.2))]
    (pool,) = cluster.s.cost.report(ADMIN, CostBy.POOL, since=start + 200).rows
    assert (pool.cost, pool.idle) == pytest.approx((0.3, 0.1))
    assert cluster.s.cost.report(ADMIN, CostBy.JOB, since=start + 10_000).rows == []
