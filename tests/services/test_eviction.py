"""A node giving work back (``evicted``, e.g. a spot eviction): the index is Queued again at once, no retry
is counted, and whatever that attempt reports later is ignored."""

from hpcburst.domain.leasing import FREE_GIVE_BACKS
from hpcburst.domain.protocol import TaskResult
from hpcburst.domain.states import TaskState


def _running(cluster, retries: int = 0):
    job = cluster.submit(tasks=[{"command": "work *", "sweep": {"start": 1, "end": 2}, "retries": retries}])
    cluster.register("spot-1")
    leases = cluster.lease("spot-1", slots=2).leases
    assert len(leases) == 2
    return job, leases


def _evicted(lease) -> TaskResult:
    return TaskResult(task=lease.task, attempt=lease.attempt, evicted=True, reason="spot eviction")


def test_an_evicted_index_is_queued_again_at_once_without_counting_a_retry(cluster):
    job, (first, second) = _running(cluster)
    outcome = cluster.report("spot-1", _evicted(first))
    assert outcome.response.accepted == [first.task]
    assert outcome.completed == []  # its batch is still open
    task = cluster.task(job, "1")
    assert (task.state, task.retry_count, task.node) == (TaskState.QUEUED, 0, None)
    assert task.message == "given back: spot eviction of node spot-1"
    assert cluster.task(job, "2").state == TaskState.RUNNING  # only what was given back moves

    cluster.register("n2")
    (again,) = cluster.lease("n2", slots=1).leases
    assert (again.task, again.attempt, again.retry_count) == (first.task, 2, 0)
    cluster.finish("n2", again, exit_code=0)
    task = cluster.task(job, "1")
    assert (task.state, task.node, task.retry_count) == (TaskState.FINISHED, "n2", 0)


def test_an_eviction_of_an_index_with_no_retries_left_still_runs_it_again(cluster):
    job, (first, _) = _running(cluster, retries=0)
    cluster.report("spot-1", _evicted(first))
    assert cluster.task(job, "1").state == TaskState.QUEUED  # not Failed: retries are for failures


def test_a_late_result_for_the_evicted_attempt_is_ignored(cluster):
    job, (first, _) = _running(cluster)
    cluster.report("spot-1", _evicted(first))
    assert cluster.finish("spot-1", first, exit_code=0).response.ignored == [first.task]
    assert cluster.report("spot-1", _evicted(first)).response.ignored == [first.task]
    cluster.register("n2")
    (again,) = cluster.lease("n2", slots=1).leases
    assert cluster.finish("spot-1", first, exit_code=0).response.ignored == [first.task]  # fenced: stale
    assert cluster.task(job, "1").state == TaskState.RUNNING
    cluster.finish("n2", again, exit_code=0)
    assert cluster.task(job, "1").state == TaskState.FINISHED


def test_only_the_leaseholder_can_give_an_index_back(cluster):
    job, (first, _) = _running(cluster)
    cluster.register("other")
    assert cluster.report("other", _evicted(first)).response.ignored == [first.task]
    assert cluster.task(job, "1").state == TaskState.RUNNING


def test_a_node_that_keeps_giving_an_index_back_spends_its_retries_so_the_job_ends(cluster):
    job = cluster.submit(tasks=[{"command": "x", "retries": 1}])
    cluster.register("n1")
    for _ in range(FREE_GIVE_BACKS):
        (lease,) = cluster.lease("n1", slots=1).leases
        cluster.report(
            "n1", TaskResult(task=lease.task, attempt=lease.attempt, evicted=True, reason="eviction")
        )
        assert (cluster.task(job, "0").state, cluster.task(job, "0").retry_count) == ("Queued", 0)
    (lease,) = cluster.lease("n1", slots=1).leases
    cluster.report("n1", TaskResult(task=lease.task, attempt=lease.attempt, evicted=True, reason="eviction"))
    assert (cluster.task(job, "0").state, cluster.task(job, "0").retry_count) == (
        "Queued",
        1,
    )  # a retry spent
    (lease,) = cluster.lease("n1", slots=1).leases
    cluster.report("n1", TaskResult(task=lease.task, attempt=lease.attempt, evicted=True, reason="eviction"))
    assert cluster.task(job, "0").state == "Failed"
