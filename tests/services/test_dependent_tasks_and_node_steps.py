"""The job model in the services: dependent tasks wait until released, failure attributes end jobs,
NodePrep results exclude nodes and NodeRelease is owed until a job leaves."""

import asyncio

from principals import ADMIN

from hpcburst.domain.node_steps import LeftJob, NodeStepResult
from hpcburst.domain.protocol import HeartbeatRequest, ReportRequest
from hpcburst.domain.states import JobState, TaskState
from hpcburst.domain.task_types import TaskType


def _states(cluster, job):
    return {(t.task, t.index): t.state for t in (cluster.task(job, f"{n}.0") for n in (1, 2, 3))}


def _chain(cluster, **job):
    """parent -> child -> grandchild, all basic; the parent listed last (dispatch lays parents out first)."""
    return cluster.submit(
        tasks=[
            {"name": "child", "command": "c", "depends_on": ["parent"]},
            {"command": "g", "depends_on": ["child"]},
            {"name": "parent", "command": "p"},
        ],
        **job,
    )


def test_dependent_indices_wait_unleasable_until_their_parent_finishes(cluster):
    job = _chain(cluster)
    cluster.register("n1")
    (lease,) = cluster.lease("n1", slots=4).leases
    assert lease.task == f"{job}.3.0"  # only the parent is leasable
    assert _states(cluster, job)[(1, 0)] == TaskState.SUBMITTED
    outcome = cluster.finish("n1", lease)
    assert outcome.changed == [(f"job-{job}", job)]  # the orchestrator looks again
    (child,) = cluster.lease("n1", slots=4).leases
    assert child.task == f"{job}.1.0"
    cluster.finish("n1", child)
    (grandchild,) = cluster.lease("n1", slots=4).leases
    assert grandchild.task == f"{job}.2.0"


def test_a_failed_parent_cancels_its_descendants_with_fail_dependent_tasks(cluster):
    job = _chain(cluster, fail_dependent_tasks=True)
    cluster.register("n1")
    cluster.finish("n1", cluster.lease("n1").leases[0], exit_code=1)
    assert _states(cluster, job) == {
        (1, 0): TaskState.CANCELED, (2, 0): TaskState.CANCELED, (3, 0): TaskState.FAILED
    }  # fmt: skip
    assert cluster.s.completion.finish(job)["state"] == JobState.FAILED


def test_without_it_a_failed_parent_still_releases_its_child(cluster):
    job = _chain(cluster)
    cluster.register("n1")
    cluster.finish("n1", cluster.lease("n1").leases[0], exit_code=1)
    assert [lease.task for lease in cluster.lease("n1").leases] == [f"{job}.1.0"]


def test_the_orchestrators_check_releases_what_a_lost_report_did_not(cluster):
    job = _chain(cluster)
    cluster.register("n1")
    lease = cluster.lease("n1").leases[0]
    cluster.s.report._dependencies = None  # as if the report's own pass never ran
    cluster.finish("n1", lease)
    assert cluster.lease("n1").leases == []
    assert cluster.s.dependencies.release(cluster.s.catalog.get(job, fresh=True)) == 1
    assert [lease.task for lease in cluster.lease("n1").leases] == [f"{job}.1.0"]


def test_valid_exit_codes_decide_success_and_fail_job_on_failure_ends_the_job(cluster):
    job = cluster.submit(
        tasks=[
            {"command": "ok", "valid_exit_codes": "0,3..5"},
            {"command": "fatal", "fail_job_on_failure": True},
            {"command": "slow *", "sweep": {"start": 1, "end": 3}},
        ]
    )
    cluster.register("n1")
    leases = {lease.task_id: lease for lease in cluster.lease("n1", slots=2).leases}
    cluster.finish("n1", leases[1], exit_code=4)
    assert cluster.task(job, "1.0").state == TaskState.FINISHED
    outcome = cluster.finish("n1", leases[2], exit_code=1)
    assert outcome.changed == [(f"job-{job}", job)]
    view = cluster.s.jobs.view(job, ADMIN)
    assert view.state == JobState.FAILED and "fail_job_on_failure" in (view.message or "")
    assert view.counts["Canceled"] == 3
    assert cluster.s.completion.finish(job)["state"] == JobState.FAILED


def test_a_job_past_its_runtime_fails_counting_from_its_start(cluster):
    job = cluster.submit(runtime=60, tasks=[{"command": "long"}])
    cluster.clock.advance(600)  # queued time does not count
    assert cluster.s.jobs.over_runtime() == []
    cluster.register("n1")
    cluster.lease("n1")
    cluster.s.catalog.invalidate()
    cluster.clock.advance(61)
    (failed,) = cluster.s.jobs.over_runtime()
    assert (
        failed.id == job and failed.state == JobState.FAILED and "runtime of 60 s" in (failed.message or "")
    )


def _node_job(cluster):
    return cluster.submit(
        tasks=[
            {"type": "NodePrep", "command": "prep", "valid_exit_codes": "0,9"},
            {"type": "NodeRelease", "command": "release"},
            {"command": "work *", "sweep": {"start": 1, "end": 4}},
        ],
        environment={"A": "1"},
    )


def _step(cluster, node, job, kind, exit_code):
    result = NodeStepResult(job=job, kind=kind, exit_code=exit_code, started_at=1.0, ended_at=2.0)
    return cluster.s.report.report(ReportRequest(node=node, results=[], node_steps=[result]))


def test_leases_carry_the_node_steps_and_a_failed_node_prep_excludes_the_node(cluster):
    job = _node_job(cluster)
    cluster.register("n1")
    cluster.register("n2")
    lease = cluster.lease("n1", slots=1).leases[0]
    assert lease.node_prep is not None and lease.node_prep.command == "prep"
    assert lease.node_prep.environment == {"A": "1"} and lease.node_prep.owner == "tester"
    assert lease.node_release is not None and lease.node_release.max_run_time == 15.0  # HPC Pack's default
    assert _step(cluster, "n1", job, TaskType.NODE_PREP, 1).response.steps_accepted == 1
    assert _step(cluster, "n2", job, TaskType.NODE_PREP, 9).response.steps_accepted == 1  # a valid code
    steps = {(r.node, r.ok) for r in cluster.s.jobs.view(job, ADMIN).node_steps}
    assert steps == {("n1", False), ("n2", True)}
    assert cluster.lease("n1", slots=4).leases == []
    assert len(cluster.lease("n2", slots=4).leases) == 3


def _left(cluster, node, job):
    beat = cluster.s.nodes.heartbeat(HeartbeatRequest(node=node, jobs=[job]))
    return beat.left


def test_a_job_leaves_its_nodes_when_it_ends_and_a_forced_cancel_skips_node_release(cluster):
    job = _node_job(cluster)
    cluster.register("n1")
    cluster.lease("n1", slots=1)
    assert _left(cluster, "n1", job) == []  # still running
    asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))
    assert _left(cluster, "n1", job) == [LeftJob(job=job, release=True)]
    forced = _node_job(cluster)
    asyncio.run(cluster.s.jobs.cancel(forced, cluster.orch, ADMIN, force=True))
    assert _left(cluster, "n1", forced) == [LeftJob(job=forced, release=False)]
    assert _left(cluster, "n1", "no-such-job") == [LeftJob(job="no-such-job", release=False)]


def test_a_requeued_child_waits_again_for_its_requeued_parent(cluster):
    job = _chain(cluster, fail_dependent_tasks=True)
    cluster.register("n1")
    cluster.finish("n1", cluster.lease("n1").leases[0], exit_code=1)
    assert cluster.s.completion.finish(job)["state"] == JobState.FAILED
    asyncio.run(cluster.s.jobs.requeue(job, cluster.orch, ADMIN))
    assert [lease.task for lease in cluster.lease("n1", slots=4).leases] == [f"{job}.3.0"]
    assert _states(cluster, job)[(1, 0)] == TaskState.SUBMITTED
