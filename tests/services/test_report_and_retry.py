"""Results are recorded exactly once, for the current attempt from its leaseholder; failures retry."""

import pytest
from principals import ADMIN

from hpcburst.domain.protocol import TaskResult
from hpcburst.domain.states import TaskState
from hpcburst.domain.task import OutputRef


def _one(cluster, **task):
    task.setdefault("command", "work *")
    task.setdefault("sweep", {"start": 1, "end": 1})
    job = cluster.submit(tasks=[task])
    cluster.register("n1")
    (lease,) = cluster.lease("n1", slots=1).leases
    return job, lease


def test_a_successful_result_finishes_the_index_and_its_batch(cluster):
    job, lease = _one(cluster)
    outcome = cluster.finish("n1", lease, exit_code=0)
    assert outcome.response.accepted == [lease.task]
    assert outcome.completed == [(f"job-{job}", job, 0)]
    task = cluster.task(job, "1")
    assert (task.state, task.exit_code) == (TaskState.FINISHED, 0)


def test_a_duplicate_report_is_ignored(cluster):
    job, lease = _one(cluster)
    cluster.finish("n1", lease)
    again = cluster.finish("n1", lease, exit_code=7)
    assert again.response.ignored == [lease.task]
    assert again.completed == []
    assert cluster.task(job, "1").exit_code == 0


def test_a_result_from_a_node_that_does_not_hold_the_lease_is_ignored(cluster):
    job, lease = _one(cluster)
    assert cluster.finish("n2", lease).response.ignored == [lease.task]
    assert cluster.task(job, "1").state == TaskState.RUNNING


def test_a_result_for_an_unknown_task_is_ignored(cluster):
    bogus = TaskResult(task="999.1.1", attempt=1, exit_code=0)
    assert cluster.report("n1", bogus, TaskResult(task="nonsense", attempt=1)).response.ignored == [
        "nonsense",
        "999.1.1",
    ]


def test_a_failure_with_retries_left_runs_again_with_the_next_attempt(cluster):
    job, lease = _one(cluster, retries=1)
    cluster.finish("n1", lease, exit_code=3)
    assert cluster.task(job, "1").state == TaskState.QUEUED
    (again,) = cluster.lease("n1", slots=1).leases
    assert (again.attempt, again.retry_count) == (2, 1)
    cluster.finish("n1", again, exit_code=3)
    task = cluster.task(job, "1")
    assert (task.state, task.exit_code, task.retry_count) == (TaskState.FAILED, 3, 1)


def test_a_late_result_of_an_earlier_attempt_is_ignored(cluster):
    job, lease = _one(cluster, retries=1)
    cluster.finish("n1", lease, exit_code=1)
    (again,) = cluster.lease("n1", slots=1).leases
    assert cluster.finish("n1", lease, exit_code=0).response.ignored == [lease.task]
    cluster.finish("n1", again, exit_code=0)
    assert cluster.task(job, "1").attempt == 2


def test_running_past_max_run_time_counts_as_a_failure(cluster):
    job, lease = _one(cluster, max_run_time=5)
    cluster.finish("n1", lease, exit_code=-9, timed_out=True)
    task = cluster.task(job, "1")
    assert (task.state, task.timed_out) == (TaskState.FAILED, True)


def test_output_refs_are_kept_on_the_task(cluster):
    job, lease = _one(cluster)
    ref = {"blob": "nodes/default/n1/0a1b.seg", "offset": 10, "length": 5}
    cluster.finish("n1", lease, stdout=ref)
    assert cluster.task(job, "1").stdout == OutputRef(container="hpc-output", **ref)


@pytest.mark.parametrize(
    "forged",
    [
        {"blob": "nodes/default/n2/0a1b.seg"},  # another node's segment
        {"blob": "nodes/other-pool/n1/0a1b.seg"},  # its name in another pool
        {"container": "hpc-data", "blob": "nodes/default/n1/secret.bin"},  # another container
        {"blob": "nodes/default/n1/../n2/0a1b.seg"},  # climbing out of its prefix
        {"blob": "results/payroll.csv"},  # anything else in the outputs container
    ],
)
def test_a_forged_output_ref_is_dropped_but_the_result_counts(cluster, forged):
    job, lease = _one(cluster)
    mine = {"blob": "nodes/default/n1/0a1b.seg", "offset": 0, "length": 3}
    response = cluster.finish("n1", lease, stdout=forged, stderr=mine).response
    assert response.accepted == [lease.task]
    task = cluster.task(job, "1")
    assert (task.state, task.exit_code) == (TaskState.FINISHED, 0)
    assert task.stdout is None and task.stderr is not None and task.stderr.blob == mine["blob"]
    assert task.message is not None and "outside the node's output prefix" in task.message


def test_the_job_finishes_failed_when_an_index_failed(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 2}}])
    cluster.register("n1")
    a, b = cluster.lease("n1", slots=2).leases
    cluster.finish("n1", a, exit_code=0)
    cluster.finish("n1", b, exit_code=1)
    assert cluster.s.completion.finish(job)["state"] == "Failed"
    assert cluster.s.jobs.view(job, ADMIN).ended_at is not None


def test_the_job_finishes_finished_when_all_succeeded(cluster):
    job, lease = _one(cluster)
    cluster.finish("n1", lease)
    assert cluster.s.completion.complete_batches(job, [0]) == [0]
    assert cluster.s.completion.finish(job)["state"] == "Finished"


def test_the_same_result_twice_in_one_report_counts_once(cluster):
    job, lease = _one(cluster)
    result = TaskResult(task=lease.task, attempt=lease.attempt, exit_code=0)
    response = cluster.report("n1", result, result).response
    assert (response.accepted, response.ignored) == ([lease.task], [lease.task])
    assert cluster.task(job, "1").state == TaskState.FINISHED
