"""The burst controller on a real state store: it grows a pool for a backlog, shrinks it to zero by name,
stays under its caps, replaces nodes that never boot and backs off, survives a crash between deciding and
doing, deletes orphans, and explains every decision."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from azure.cosmos import CosmosClient
from burst_support import BurstCluster
from principals import ADMIN

from hpcburst.domain.identity import Principal
from hpcburst.domain.protocol import LeaseRequest, ReportRequest, TaskResult
from hpcburst.errors import Conflict, InvalidState, NotFound
from hpcburst.storage.state.cosmos import CosmosStateStore
from hpcburst.storage.state.sqlite import SqliteStateStore

FAST = {"max_nodes": 4, "slots_per_node": 2, "idle_timeout": 30, "delay_after_add": 60, "boot_timeout": 120}


@pytest.fixture
def burst(tmp_path) -> Iterator[BurstCluster]:
    cluster = BurstCluster(SqliteStateStore(tmp_path / "state.db"))
    yield cluster
    cluster.s.close()


@pytest.fixture(params=["sqlite", "cosmos"])
def burst_on_each_store(request, tmp_path) -> Iterator[BurstCluster]:
    if request.param == "sqlite":
        cluster = BurstCluster(SqliteStateStore(tmp_path / "state.db"))
        yield cluster
        cluster.s.close()
        return
    server = request.getfixturevalue("cosmos_server")
    database = f"burst-{uuid.uuid4().hex[:8]}"
    cluster = BurstCluster(
        CosmosStateStore(server.endpoint, server.key, database, verify_tls=False, emulator=True)
    )
    yield cluster
    cluster.s.close()
    with CosmosClient(server.endpoint, credential=server.key, connection_verify=False) as client:
        client.delete_database(database)


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_a_backlog_grows_the_pool_from_zero_and_idle_nodes_go_by_name_back_to_zero(burst_on_each_store):
    burst = burst_on_each_store
    burst.pool(**FAST)
    burst.submit(indices=8)

    decision = burst.tick()
    assert decision is not None
    assert (
        "backlog 8 indices, 0 free on-premises slots, 0 provisioning → +4 nodes in `cloud`" in decision.reason
    )
    names = ("cloud-00001", "cloud-00002", "cloud-00003", "cloud-00004")
    assert burst.creates() == [names]
    assert set(burst.states().values()) == {"Provisioning"}

    burst.boot(*names)
    burst.tick()
    assert set(burst.states().values()) == {"Online"}
    assert sum(burst.run_all(name) for name in names) == 8

    burst.tick(after=59)
    assert set(burst.states().values()) == {"Online"}, "not before the delay-after-add"
    drained = burst.tick(after=2)
    assert drained is not None and [a.kind for a in drained.actions] == ["drain"] * 4
    assert {n.name: n.state.value for n in burst.s.nodes.list_nodes()} == dict.fromkeys(names, "Offline")

    deleted = burst.tick(after=2)
    assert deleted is not None and sorted(a.node for a in deleted.actions if a.kind == "delete") == list(
        names
    )
    assert burst.cloud.nodes == {}
    assert burst.deletes() and all(len(d) == 1 or set(d) <= set(names) for d in burst.deletes())
    assert burst.s.nodes.list_nodes() == [], "a deleted node's registration goes with it"
    record = burst.record()
    assert record.nodes == [] and record.deleting == {}
    assert [s.cause for s in record.stopped] == ["idle"] * 4
    logged = [d.reason for d in burst.s.burst.records.entries()]
    assert any("+4 nodes" in r for r in logged) and any("drain 4 idle" in r for r in logged)


def test_free_on_premises_slots_are_used_before_any_cloud_node(burst):
    burst.pool(**FAST)
    burst.onprem("desk-1", slots=8)
    burst.submit(indices=8)
    decision = burst.tick()
    assert decision is not None and decision.actions == []
    assert "8 free on-premises slots" in decision.reason
    assert burst.creates() == []


def test_a_never_burst_job_is_left_out_of_the_demand_and_says_why_it_waits(burst):
    burst.pool(**FAST)
    job = burst.submit(indices=8, never_burst=True)
    decision = burst.tick()
    assert decision is not None and decision.actions == []
    assert burst.creates() == []
    view = burst.s.jobs.view(job, burst_admin_principal())
    assert view.waiting_reason is not None
    assert "never-burst" in view.waiting_reason and "no on-premises node is online" in view.waiting_reason


def test_the_hourly_cost_cap_holds_growth_and_the_decision_says_so(burst):
    burst.pool(**{**FAST, "max_nodes": 10, "price_per_hour": 1.0, "cost_cap_per_hour": 2.0})
    burst.submit(indices=40)
    first = burst.tick()
    assert first is not None and "cap allows 2" in first.reason
    assert burst.creates() == [("cloud-00001", "cloud-00002")]
    again = burst.tick(after=5)
    assert again is not None and again.actions == [] and "+0 nodes in `cloud` (cap allows 0" in again.reason
    assert len(burst.record().nodes) == 2


def test_a_node_that_never_registers_is_deleted_the_pool_backs_off_and_is_disabled_after_repeated_failures(
    burst,
):
    burst.pool(**{**FAST, "max_nodes": 1})
    job = burst.submit(indices=2)
    burst.tick()
    assert burst.creates() == [("cloud-00001",)]

    timed_out = burst.tick(after=121)
    assert timed_out is not None
    assert [(a.kind, a.node) for a in timed_out.actions if a.kind == "delete"] == [("delete", "cloud-00001")]
    assert "cloud-00001" not in burst.cloud.nodes
    backing_off = burst.tick(after=1)
    assert backing_off is not None and "backing off" in backing_off.reason
    assert len(burst.creates()) == 1

    burst.tick(after=60)  # the first backoff (60 s) is over: a new node, under a new name
    assert burst.creates()[-1] == ("cloud-00002",)
    burst.tick(after=121)  # second failure: backoff 120 s
    burst.tick(after=121)
    assert burst.creates()[-1] == ("cloud-00003",)
    burst.tick(after=121)  # third failure within the hour: disabled

    status = burst.s.burst_admin.status()
    (pool,) = status.pools
    assert pool.disabled_reason is not None and "3 boot failures" in pool.disabled_reason
    burst.tick(after=3600)
    assert len(burst.creates()) == 3, "a disabled pool creates nothing"
    reason = burst.s.jobs.view(job, burst_admin_principal()).waiting_reason
    assert reason is not None and "disabled" in reason and "burst enable cloud" in reason

    burst.s.burst_admin.enable("cloud")
    burst.tick(after=1)
    assert burst.creates()[-1] == ("cloud-00004",)


def test_creates_decided_but_not_made_before_a_crash_are_made_by_the_next_tick(burst, monkeypatch):
    burst.pool(**FAST)
    burst.submit(indices=4)
    with monkeypatch.context() as crash:
        crash.setattr(burst.s.burst, "create_pending", lambda *args: None)  # the process dies after the write
        burst.tick()
    assert burst.creates() == []
    assert sorted(burst.record().creating) == ["cloud-00001", "cloud-00002"]

    burst.tick(after=2)
    assert burst.creates() == [("cloud-00001", "cloud-00002")], "the same names: creates are idempotent"
    assert burst.record().creating == {}


def test_a_node_the_cloud_has_but_the_controller_does_not_know_is_an_orphan_and_is_deleted(burst):
    burst.pool(**FAST)
    target = burst.s.burst.provisioners.target(burst.s.pools.get("cloud"))
    burst.cloud.create(target, ["cloud-stray"], "secret")
    burst.tick()
    assert "cloud-stray" not in burst.cloud.nodes
    assert any("orphans" in d.reason and "cloud-stray" in d.reason for d in burst.s.burst.records.entries())


def test_a_throttled_create_is_retried_after_the_time_the_cloud_asked_for(burst):
    burst.pool(**FAST)
    burst.submit(indices=2)
    burst.cloud.throttle_next(retry_after=30)  # the tick's list (it goes on without it)
    burst.cloud.throttle_next(retry_after=30)  # the create
    burst.tick()
    assert burst.cloud.nodes == {} and burst.record().creating == {"cloud-00001": "cloud"}
    burst.tick(after=10)
    assert burst.cloud.nodes == {}
    burst.tick(after=25)
    assert set(burst.cloud.nodes) == {"cloud-00001"} and burst.record().creating == {}


def test_a_capacity_error_releases_the_reservation_counts_as_a_failure_and_is_explained(burst):
    burst.pool(**{**FAST, "price_per_hour": 1.0, "cost_cap_per_hour": 1.0})
    burst.cloud.capacity = 0
    burst.submit(indices=2)
    burst.tick()
    record = burst.record()
    assert record.nodes == [] and record.creating == {}
    assert record.ledger.committed_rate("cloud", burst.clock.now) == 0.0
    assert len(record.failures["cloud"]) == 1
    assert any("failed" in d.reason and "capacity" in d.reason for d in burst.s.burst.records.entries())


def test_a_spot_node_that_the_cloud_takes_back_is_dropped_at_once_and_its_work_requeued(burst):
    burst.pool(**{**FAST, "spot": True, "max_nodes": 1})
    job = burst.submit(indices=2)
    burst.tick()
    burst.boot("cloud-00001")
    burst.tick()
    leased = asyncio.run(burst.s.lease.lease(LeaseRequest(node="cloud-00001", pool="cloud", free_slots=2)))
    assert len(leased.leases) == 2
    burst.cloud.evict("cloud-00001")
    burst.tick(after=1)
    record = burst.record()
    assert [s.cause for s in record.stopped] == ["evicted"]
    assert len(record.evictions["cloud"]) == 1
    assert any(
        "lost from the cloud: cloud-00001 (evicted)" in d.reason for d in burst.s.burst.records.entries()
    )
    assert "cloud-00001" not in burst.cloud.nodes, "an evicted VM's disk still bills: it is deleted"
    burst.s.catalog.invalidate(job)
    counts = burst.s.jobs.view(job, burst_admin_principal()).counts
    assert counts["Queued"] == 2 and counts["Running"] == 0


def test_nodes_started_by_hand_stay_until_stopped_and_a_stop_drains_first(burst):
    burst.pool(**FAST)
    started = burst.s.burst_admin.start_nodes("cloud", 2, who="admin")
    assert started == ["cloud-00001", "cloud-00002"] and burst.creates() == [tuple(started)]
    burst.boot(*started)
    burst.tick(after=3600)
    assert set(burst.states().values()) == {"Online"}, "the policy never scales manual nodes down"

    job = burst.submit(indices=1)
    lease = asyncio.run(burst.s.lease.lease(LeaseRequest(node="cloud-00001", pool="cloud", free_slots=1)))
    assert len(lease.leases) == 1
    assert burst.s.burst_admin.stop_nodes(["cloud-00001"], now_=False, who="admin") == {
        "cloud-00001": "draining"
    }
    assert burst.states()["cloud-00001"] == "Draining"
    assert burst.run_all("cloud-00002") == 0, "the other node gets nothing: the index is still running"

    assert burst.s.burst_admin.stop_nodes(["cloud-00002"], now_=True, who="admin") == {
        "cloud-00002": "deleting"
    }
    assert "cloud-00002" not in burst.cloud.nodes
    burst.tick(after=1)
    assert "cloud-00001" in burst.cloud.nodes, "a draining node waits for its running index"
    (held,) = lease.leases
    done = TaskResult(
        task=held.task,
        attempt=held.attempt,
        exit_code=0,
        started_at=burst.clock.now,
        ended_at=burst.clock.now,
    )
    burst.s.report.report(ReportRequest(node="cloud-00001", results=[done]))
    burst.tick(after=1)
    assert "cloud-00001" not in burst.cloud.nodes, "then goes"
    causes = {s.name: s.cause for s in burst.record().stopped}
    assert causes == {"cloud-00001": "stopped by an admin", "cloud-00002": "stopped by admin"}
    assert burst.s.jobs.view(job, burst_admin_principal()).counts["Running"] == 1


def test_a_stop_now_requeues_the_running_indices_at_once(burst):
    burst.pool(**FAST)
    (name,) = burst.s.burst_admin.start_nodes("cloud", 1, who="admin")
    burst.boot(name)
    job = burst.submit(indices=2)
    asyncio.run(burst.s.lease.lease(LeaseRequest(node=name, pool="cloud", free_slots=2)))
    burst.s.burst_admin.stop_nodes([name], now_=True, who="admin")
    burst.s.catalog.invalidate(job)
    counts = burst.s.jobs.view(job, burst_admin_principal()).counts
    assert counts["Queued"] == 2 and counts["Running"] == 0
    assert burst.s.nodes.list_nodes() == []


def test_the_manual_burst_refuses_more_than_fits_and_names_what_does(burst):
    burst.pool(**{**FAST, "max_nodes": 3})
    with pytest.raises(InvalidState, match="only 3 more node"):
        burst.s.burst_admin.start_nodes("cloud", 5, who="admin")
    assert burst.creates() == []


def test_stopping_an_on_premises_node_names_the_right_command(burst):
    burst.pool(**FAST)
    burst.onprem("desk-1")
    with pytest.raises(NotFound, match="on-premises node: `hpcburst node offline desk-1`"):
        burst.s.burst_admin.stop_nodes(["desk-1"], now_=False, who="admin")


def test_a_pool_with_cloud_nodes_cannot_stop_bursting(burst):
    burst.pool(**FAST)
    burst.s.burst_admin.start_nodes("cloud", 1, who="admin")
    with pytest.raises(Conflict, match="still has cloud nodes"):
        burst.s.burst_admin.check_can_stop_bursting("cloud")


def test_a_second_controller_sees_the_first_ones_reservations_and_adds_nothing(tmp_path):
    first = BurstCluster(SqliteStateStore(tmp_path / "state.db"))
    second = BurstCluster(SqliteStateStore(tmp_path / "state.db"))
    second.cloud = first.cloud
    second.s.burst.provisioners = first.s.burst.provisioners
    first.pool(**{**FAST, "price_per_hour": 1.0, "cost_cap_per_hour": 2.0, "max_nodes": 10})
    first.submit(indices=40)
    first.tick()
    second.clock.now = first.clock.now
    decision = second.tick()
    assert decision is not None and [a.kind for a in decision.actions] == []
    assert len(first.record().nodes) == 2
    first.s.close()
    second.s.close()


def burst_admin_principal() -> Principal:
    return ADMIN


def test_after_repeated_evictions_a_spot_pool_makes_regular_vms(burst):
    burst.pool(**{**FAST, "spot": True, "max_nodes": 1})
    burst.submit(indices=2)
    for round_ in range(1, 4):
        burst.tick(after=1)
        name = f"cloud-{round_:05d}"
        assert burst.cloud.nodes[name].spot
        burst.boot(name)
        burst.tick()
        burst.cloud.evict(name)
        burst.tick(after=1)
    burst.tick(after=1)
    assert burst.record().regular == ["cloud"]
    (pool,) = burst.s.burst_admin.status().pools
    assert pool.spot is False
    burst.tick(after=1)
    (newest,) = burst.cloud.nodes.values()
    assert newest.spot is False, "the fallback reaches the cloud: the next VM is a regular one"
    assert any("spot evictions in the last hour" in d.reason for d in burst.s.burst.records.entries())
