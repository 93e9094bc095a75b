"""What a report reads of the tasks container: the cost per index of a sweep on Cosmos DB (issue 13)."""

from __future__ import annotations

from typing import Any

from hpcburst import constants as c
from hpcburst.domain.protocol import TaskResult
from hpcburst.domain.states import TaskState


class TaskReads:
    """Delegates to a real store; counts point reads and queries of the tasks container."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.gets, self.queries = inner, 0, 0

    def get(self, container: str, *args: Any, **kwargs: Any) -> Any:
        self.gets += container == c.TASKS
        return self.inner.get(container, *args, **kwargs)

    def query(self, container: str, *args: Any, **kwargs: Any) -> Any:
        self.queries += container == c.TASKS
        return self.inner.query(container, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _result(lease: Any, exit_code: int = 0) -> TaskResult:
    return TaskResult(
        task=lease.task, attempt=lease.attempt, exit_code=exit_code, started_at=1.0, ended_at=2.0
    )


def _counting(cluster: Any) -> TaskReads:
    counting = TaskReads(cluster.s.report._store)
    cluster.s.report._store = counting
    return counting


def test_a_report_of_many_results_reads_the_nodes_held_indices_in_one_query(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 50}}])
    cluster.register("n1", slots=50)
    leases = cluster.lease("n1", slots=50).leases
    counting = _counting(cluster)
    answer = cluster.report("n1", *[_result(lease) for lease in leases]).response
    assert len(answer.accepted) == 50
    assert (counting.gets, counting.queries) == (0, 1)
    assert cluster.task(job, "1").state == TaskState.FINISHED


def test_a_report_of_one_result_is_one_point_read(cluster):
    cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 2}}])
    cluster.register("n1", slots=2)
    first, _ = cluster.lease("n1", slots=2).leases
    counting = _counting(cluster)
    assert cluster.report("n1", _result(first)).response.accepted == [first.task]
    assert (counting.gets, counting.queries) == (1, 0)


def test_results_for_indices_the_node_does_not_hold_are_ignored_in_a_many_result_report(cluster):
    cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 4}}])
    cluster.register("n1", slots=2)
    cluster.register("n2", slots=2)
    mine = cluster.lease("n1", slots=2).leases
    theirs = cluster.lease("n2", slots=2).leases
    answer = cluster.report("n1", *[_result(lease) for lease in mine + theirs]).response
    assert sorted(answer.accepted) == sorted(lease.task for lease in mine)
    assert sorted(answer.ignored) == sorted(lease.task for lease in theirs)
