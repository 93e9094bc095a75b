"""Pinned tasks (clusrun): only an admin pins, a pinned index runs on its node only, and one whose node
leaves fails with a message naming the node instead of waiting forever."""

import asyncio

import pytest
from principals import ADMIN

from hpcburst.domain.job import JobSpec
from hpcburst.domain.protocol import HeartbeatRequest
from hpcburst.domain.states import JobState, NodeState, TaskState
from hpcburst.errors import Forbidden, InvalidSpec


def _pinned(*nodes, **job):
    return {"tasks": [{"command": "hostname", "node": n} for n in nodes], **job}


def _submit(cluster, spec, admin=True):
    return asyncio.run(
        cluster.s.jobs.submit(JobSpec.model_validate(spec), cluster.orch, "root", admin=admin)
    ).id


def _heartbeat(cluster, node):
    cluster.s.nodes.heartbeat(HeartbeatRequest(node=node))


def test_each_pinned_index_is_leased_by_its_own_node_and_by_no_other(cluster):
    for node in ("n1", "n2", "n3"):
        cluster.register(node, slots=4)
    job = _submit(cluster, _pinned("n1", "n2"))
    assert cluster.lease("n3", slots=4).leases == []
    assert [(x.task_id, x.index) for x in cluster.lease("n2", slots=4).leases] == [(2, 0)]
    assert cluster.lease("n2", slots=4).leases == []
    assert [x.task_id for x in cluster.lease("n1", slots=4).leases] == [1]
    assert (cluster.task(job, "1.0").node, cluster.task(job, "2.0").node) == ("n1", "n2")


def test_an_unpinned_task_of_the_same_job_runs_anywhere(cluster):
    cluster.register("n1")
    cluster.register("n2")
    _submit(cluster, {"tasks": [{"command": "a", "node": "n1"}, {"command": "b"}]})
    assert [x.task_id for x in cluster.lease("n2").leases] == [2]
    assert [x.task_id for x in cluster.lease("n1").leases] == [1]


def test_only_an_admin_may_pin_a_task_to_a_node(cluster):
    cluster.register("n1")
    with pytest.raises(Forbidden, match="admin"):
        _submit(cluster, _pinned("n1"), admin=False)
    assert cluster.lease("n1").leases == []


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        (_pinned("ghost"), "'ghost' is not registered"),
        (_pinned("cpu1", pool="gpu"), "'cpu1' is in pool 'cpu', not 'gpu'"),
        (_pinned("burst1", never_burst=True), "'burst1' is a cloud node and the job is never-burst"),
        (_pinned("cpu1", "drained"), "'drained' is Offline, not Online"),
    ],
)
def test_pinning_never_bypasses_pools_never_burst_or_node_state(cluster, spec, why):
    cluster.register("cpu1", pool="cpu")
    cluster.register("burst1", cloud=True)
    cluster.register("drained")
    cluster.s.nodes.set_state("drained", NodeState.OFFLINE)
    with pytest.raises(InvalidSpec, match=why) as refused:
        _submit(cluster, spec)
    assert str(refused.value.details["field"]).endswith(".node")


def test_a_queued_pinned_index_fails_when_its_node_stops_heartbeating(cluster, clock):
    cluster.register("n1")
    cluster.register("n2")
    job = _submit(cluster, _pinned("n1", "n2"))
    assert cluster.s.pinned.fail_stranded() == []  # both nodes Online: nothing to do
    clock.advance(11)
    _heartbeat(cluster, "n1")
    assert cluster.s.nodes.expire() == ["n2"]
    assert cluster.s.pinned.fail_stranded() == []  # n1's index still open: the batch is not done
    lost = cluster.task(job, "2.0")
    assert lost.state == TaskState.FAILED
    assert lost.message and "node n2 is Unreachable" in lost.message
    (mine,) = cluster.lease("n1").leases
    assert cluster.finish("n1", mine).completed == [(f"job-{job}", job, 0)]


def test_a_pinned_index_running_on_a_node_that_dies_fails_rather_than_moving(cluster, clock):
    cluster.register("n1")
    cluster.register("n2")
    job = _submit(cluster, _pinned("n2"))
    assert len(cluster.lease("n2").leases) == 1
    clock.advance(11)
    _heartbeat(cluster, "n1")
    cluster.s.nodes.expire()  # re-queued, as any index of a silent node
    assert cluster.lease("n1").leases == []  # ... but never run elsewhere
    assert cluster.s.pinned.fail_stranded() == [(f"job-{job}", job, 0)]
    assert cluster.task(job, "1.0").state == TaskState.FAILED


def test_a_drained_or_forgotten_node_fails_its_queued_pinned_indices(cluster):
    cluster.register("n1")
    cluster.register("n2")
    job = _submit(cluster, _pinned("n1", "n2"))
    cluster.s.nodes.set_state("n1", NodeState.OFFLINE)
    cluster.s.nodes.forget("n2", "its cloud node was deleted")
    assert cluster.s.pinned.fail_stranded() == [(f"job-{job}", job, 0)]
    assert "node n1 is Offline" in (cluster.task(job, "1.0").message or "")
    assert "node n2 is no longer registered" in (cluster.task(job, "2.0").message or "")


def test_a_pinned_job_is_canceled_like_any_job(cluster):
    cluster.register("n1")
    job = _submit(cluster, _pinned("n1"))
    canceled = asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))
    assert canceled.state == JobState.CANCELED
    assert cluster.lease("n1").leases == []
