"""A lease pass reads a bounded number of task queries, however many batches the job has."""

from __future__ import annotations

from store_counting_support import QueryCounting

from hpcburst.domain.states import TaskState


def test_a_lease_wanting_more_than_a_big_job_has_queued_reads_one_query_not_one_per_batch(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 100_000}}])  # 100 batches
    assert cluster.s.catalog.get(job).batches == 100  # only batch 0 (1000 indices) is dispatched yet
    cluster.register("big", slots=1500)
    lease = cluster.s.lease
    counting = QueryCounting(lease._store)
    lease._store = counting
    assert len(cluster.lease("big", slots=1500).leases) == 1000
    assert counting.task_queries == 1, counting.task_queries
    counting.task_queries = 0
    assert cluster.lease("big", slots=500).leases == []  # nothing Queued now
    assert counting.task_queries == 1, counting.task_queries


def test_a_retry_in_an_earlier_batch_is_leased_before_later_batches(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 300}, "retries": 1}])
    for batch in (1, 2):
        cluster.s.dispatch.materialize(job, batch)
    cluster.register("n1", slots=100)
    first = cluster.lease("n1", slots=100).leases
    assert {lease.index for lease in first} == set(range(1, 101))  # batch 0
    cluster.finish("n1", first[0], exit_code=1)  # retried: Queued again in batch 0
    again = cluster.lease("n1", slots=2).leases
    assert [lease.index for lease in again][:1] == [first[0].index]
    assert cluster.task(job, str(first[0].index)).state == TaskState.RUNNING
