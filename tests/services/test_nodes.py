"""Nodes heartbeat; silent nodes lose their work to others; drained nodes take nothing new."""

from principals import ADMIN

from hpcburst.domain.protocol import HeartbeatRequest, RunningRef
from hpcburst.domain.states import NodeState, TaskState


def _heartbeat(cluster, node, running=()):
    return cluster.s.nodes.heartbeat(HeartbeatRequest(node=node, running=list(running)))


def test_a_node_that_stops_heartbeating_has_its_work_run_elsewhere_exactly_once(cluster, clock):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 2}}])
    cluster.register("dead")
    cluster.register("alive")
    taken = cluster.lease("dead", slots=2).leases
    clock.advance(5)
    _heartbeat(cluster, "alive")
    clock.advance(6)  # "dead" silent for 11 s, "alive" for 6 s (timeout 10 s)
    assert cluster.s.nodes.expire() == ["dead"]
    assert cluster.task(job, "1").state == TaskState.QUEUED
    rerun = cluster.lease("alive", slots=2).leases
    assert sorted(lease.attempt for lease in rerun) == [2, 2]
    assert cluster.finish("dead", taken[0]).response.ignored == [taken[0].task]  # too late
    for lease in rerun:
        cluster.finish("alive", lease, exit_code=0)
    assert cluster.s.jobs.view(job, ADMIN).counts["Finished"] == 2


def test_a_node_back_from_the_dead_is_told_to_kill_what_it_still_runs(cluster, clock):
    cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 1}}])
    cluster.register("n1")
    (lease,) = cluster.lease("n1", slots=1).leases
    clock.advance(11)
    cluster.s.nodes.expire()
    beat = _heartbeat(cluster, "n1", [RunningRef(task=lease.task, attempt=lease.attempt)])
    assert (beat.state, beat.cancel_runs) == (
        NodeState.ONLINE,
        [RunningRef(task=lease.task, attempt=lease.attempt)],
    )


def test_a_restarted_agent_gives_back_what_it_ran(cluster):
    job = cluster.submit()
    cluster.register("n1")
    cluster.lease("n1", slots=2)
    cluster.register("n1")
    assert cluster.s.jobs.view(job, ADMIN).counts["Queued"] == 4


def test_an_offline_node_drains_and_gets_no_new_work(cluster):
    cluster.submit()
    cluster.register("n1")
    cluster.s.nodes.set_state("n1", NodeState.OFFLINE)
    response = cluster.lease("n1", slots=2)
    assert (response.leases, response.drain) == ([], True)
    assert _heartbeat(cluster, "n1").drain is True
    cluster.register("n1")  # an agent restart does not bring it back online
    assert cluster.s.nodes.standing("default", "n1") == (NodeState.OFFLINE, False)
    cluster.s.nodes.set_state("n1", NodeState.ONLINE)
    assert len(cluster.lease("n1", slots=2).leases) == 2


def test_nodes_are_listed_with_their_state(cluster):
    cluster.register("n1", slots=4)
    (node,) = cluster.s.nodes.list_nodes()
    assert (node.name, node.slots, node.state) == ("n1", 4, "Online")


def test_work_leased_to_a_node_that_never_got_it_is_requeued(cluster, clock):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 2}}])
    cluster.register("n1")
    kept, lost = cluster.lease("n1", slots=2).leases  # say the response carrying `lost` never arrived
    held = [RunningRef(task=kept.task, attempt=kept.attempt)]
    assert cluster.s.nodes.reconcile("n1", held) == 0  # too young: may still be in flight
    clock.advance(11)
    _heartbeat(cluster, "n1", held)
    assert cluster.task(job, str(lost.index)).state == TaskState.QUEUED
    assert cluster.task(job, str(kept.index)).state == TaskState.RUNNING


def test_a_lease_call_names_the_indices_its_node_should_kill_and_only_those(cluster, clock):
    cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 2}}])
    cluster.register("n1")
    (old,) = cluster.lease("n1", slots=1).leases
    clock.advance(11)
    cluster.s.nodes.expire()  # n1 presumed dead: its index goes to n2
    cluster.register("n2")
    moved = cluster.lease("n2", slots=2).leases
    assert sorted(lease.attempt for lease in moved) == [1, 2]
    _heartbeat(cluster, "n1")  # back from the dead
    claims = [RunningRef(task=old.task, attempt=old.attempt), RunningRef(task="no-such.1.1", attempt=1)]
    assert cluster.lease("n1", slots=0, running=claims).cancel_runs == claims
    held = [RunningRef(task=lease.task, attempt=lease.attempt) for lease in moved]
    assert cluster.lease("n2", slots=0, running=held).cancel_runs == []
