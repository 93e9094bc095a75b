"""Dispatch messages become task documents once, however often they are delivered."""

import json

from principals import ADMIN

from hpcburst.domain.planning import batch_size_for


def test_later_batches_are_created_by_dispatch_idempotently(cluster):
    total = 250
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 0, "end": total - 1}}])
    size = batch_size_for(total)
    view = cluster.s.jobs.view(job, ADMIN)
    assert view.batches == 3 and view.counts["Queued"] == size
    assert view.counts["Submitted"] == total - size
    message = json.dumps({"job": job, "batches": [1, 2]})
    assert cluster.s.dispatch.materialize_message(message) == []
    assert cluster.s.dispatch.materialize_message(message) == []  # redelivered: nothing new
    assert cluster.s.jobs.view(job, ADMIN).counts["Queued"] == total


def test_a_redelivered_batch_that_is_already_done_is_reported_complete(cluster):
    job = cluster.submit(tasks=[{"command": "x"}])
    cluster.register("n1")
    cluster.finish("n1", cluster.lease("n1").leases[0])
    assert cluster.s.dispatch.materialize_message(json.dumps({"job": job, "batches": [0]})) == [(job, 0)]


def test_tasks_are_listed_in_index_order_with_paging(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 12}}])
    first, token = cluster.s.results.tasks(job, ADMIN, limit=5)
    second, _ = cluster.s.results.tasks(job, ADMIN, limit=5, continuation=token)
    assert [t.index for t in first + second] == list(range(1, 11))


def test_a_task_not_yet_dispatched_shows_as_submitted(cluster):
    job = cluster.submit(tasks=[{"command": "echo *", "sweep": {"start": 0, "end": 499}}])
    task = cluster.task(job, "450")
    assert (task.state, task.command) == ("Submitted", "echo 450")
