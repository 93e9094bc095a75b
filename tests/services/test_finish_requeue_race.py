"""A job's finish and a concurrent requeue: whichever order their store calls take, requeued indices run.

``CompletionService.finish`` reads the job, looks at its indices, then writes the final state; a requeue
rewrites indices and then the job (notify its orchestration, or reopen it under a new one). Each test
runs the requeue at one exact point inside ``finish`` (``interleaving_support``).
"""

import asyncio

from interleaving_support import Interleaving
from principals import ADMIN

from hpcburst import constants as c
from hpcburst.domain.states import JobState, TaskState


def _during_finish(cluster, method, when, then):
    completion = cluster.s.completion
    completion._store = Interleaving(completion._store, method, when, then)


def _requeue(cluster, job, **kwargs):
    return lambda: asyncio.run(cluster.s.jobs.requeue(job, cluster.orch, ADMIN, **kwargs))


def test_a_requeue_between_finish_counting_failures_and_writing_the_state_reopens_the_job(cluster):
    """finish counted the Failed index and was about to write Failed; the requeue put it back in the queue
    and told the (still running) orchestration. The job must not end with that index left Queued."""
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 2}}])
    cluster.register("n1")
    for lease in cluster.lease("n1", slots=2).leases:
        cluster.finish("n1", lease, exit_code=lease.index - 1)  # index 2 fails
    failed_counted = lambda kind, *a, where=None, **k: kind == c.TASKS and where == {"state": "Failed"}  # noqa: E731
    _during_finish(cluster, "count", failed_counted, _requeue(cluster, job))
    closing = cluster.s.completion.finish(job, instance=f"job-{job}")
    view = cluster.s.jobs.view(job, ADMIN)
    assert not view.state.terminal, closing
    assert closing == {"job": job, "open": [0]}  # the orchestration waits for the requeued batch
    (again,) = cluster.lease("n1", slots=2).leases
    cluster.finish("n1", again, exit_code=0)
    assert cluster.s.completion.finish(job, instance=f"job-{job}")["state"] == JobState.FINISHED


def test_a_canceled_job_requeued_while_its_finish_cancels_stragglers_keeps_the_requeued_indices(cluster):
    """finish read the job Canceled and cancels what a late dispatch may have left open; a requeue then
    reopened the job under a new orchestration with its indices Queued. Those must stay Queued."""
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 3}}])
    asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))
    job_read = lambda kind, *a, **k: kind == c.JOBS  # noqa: E731
    _during_finish(cluster, "get", job_read, _requeue(cluster, job))
    late = cluster.s.completion.finish(job, instance=f"job-{job}")
    assert late["superseded_by"] == f"job-{job}-r1"
    view = cluster.s.jobs.view(job, ADMIN)
    assert (view.state, view.counts["Queued"], view.counts["Canceled"]) == (JobState.QUEUED, 3, 0)
    assert cluster.task(job, "2").state == TaskState.QUEUED


def test_a_finish_that_runs_while_a_requeue_rewrites_a_canceled_jobs_indices_leaves_them_queued(cluster):
    """The other way round: the requeue has rewritten the indices, and the canceled run's finish comes in
    before the requeue gets to the job. The requeue reopened the job first, so that finish stands down."""
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 3}}])
    asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))
    closings = []
    jobs = cluster.s.jobs
    task_write = lambda kind, *a, **k: kind == c.TASKS  # noqa: E731
    finish = lambda: closings.append(cluster.s.completion.finish(job, instance=f"job-{job}"))  # noqa: E731
    requeuer = jobs._requeuer  # the requeue's store work (``hpcburst.services.requeue``)
    requeuer._store = Interleaving(requeuer._store, "batch", task_write, finish)
    assert asyncio.run(jobs.requeue(job, cluster.orch, ADMIN)).requeued == 3
    assert closings == [{"job": job, "state": JobState.QUEUED, "superseded_by": f"job-{job}-r1"}]
    view = cluster.s.jobs.view(job, ADMIN)
    assert (view.state, view.counts["Queued"], view.counts["Canceled"]) == (JobState.QUEUED, 3, 0)
