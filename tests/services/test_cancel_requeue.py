"""Cancel stops a job's indices at once; requeue re-runs Failed and Canceled ones."""

import asyncio

import pytest
from principals import ADMIN

from hpcburst.domain.protocol import RunningRef
from hpcburst.domain.states import JobState, TaskState
from hpcburst.errors import InvalidState


def test_cancel_cancels_queued_and_running_indices_and_tells_the_orchestrator(cluster):
    job = cluster.submit()
    cluster.register("n1")
    running = cluster.lease("n1", slots=1).leases
    canceled = asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))
    assert canceled.state == JobState.CANCELED
    assert cluster.s.jobs.view(job, ADMIN).counts["Canceled"] == 4
    assert cluster.orch.events == [(f"job-{job}", {"kind": "cancel"})]
    refs = [RunningRef(task=lease.task, attempt=lease.attempt) for lease in running]
    assert cluster.lease("n1", running=refs).cancel_runs == refs
    assert cluster.finish("n1", running[0]).response.ignored == [running[0].task]


def test_a_finished_job_cannot_be_canceled(cluster):
    job = cluster.submit(tasks=[{"command": "x"}])
    cluster.register("n1")
    cluster.finish("n1", cluster.lease("n1").leases[0])
    cluster.s.completion.finish(job)
    with pytest.raises(InvalidState, match="already Finished"):
        asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))


def test_requeue_of_a_running_job_reopens_failed_indices_through_the_orchestrator(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 3}}])
    cluster.register("n1")
    a, b, c = cluster.lease("n1", slots=3).leases
    cluster.finish("n1", a, exit_code=1)
    result = asyncio.run(cluster.s.jobs.requeue(job, cluster.orch, ADMIN))
    assert (result.requeued, result.batches) == (1, [0])
    assert cluster.orch.events[-1] == (f"job-{job}", {"kind": "requeue", "batches": [0]})
    task = cluster.task(job, "1")
    assert (task.state, task.exit_code, task.retry_count) == (TaskState.QUEUED, None, 0)
    (again,) = cluster.lease("n1", slots=3).leases
    assert (again.index, again.attempt) == (1, 2)


def test_requeue_of_a_failed_job_starts_a_new_orchestration(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 2}}])
    cluster.register("n1")
    for lease in cluster.lease("n1", slots=2).leases:
        cluster.finish("n1", lease, exit_code=lease.index - 1)  # index 2 fails
    cluster.s.completion.finish(job)
    asyncio.run(cluster.s.jobs.requeue(job, cluster.orch, ADMIN, indices=[2]))
    view = cluster.s.jobs.view(job, ADMIN)
    assert (view.state, view.instance_id) == ("Queued", f"job-{job}-r1")
    assert cluster.orch.started[-1] == (f"job-{job}-r1", {"job": job, "batches": 1, "next": 1, "open": [0]})
    assert [lease.index for lease in cluster.lease("n1", slots=2).leases] == [2]


def test_requeue_with_nothing_failed_is_refused(cluster):
    job = cluster.submit()
    with pytest.raises(InvalidState, match="no Failed or Canceled"):
        asyncio.run(cluster.s.jobs.requeue(job, cluster.orch, ADMIN))


def test_a_canceled_index_is_no_longer_held_by_its_node_nor_open_in_its_batch(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 3}}])
    cluster.register("n1")
    cluster.lease("n1", slots=1)
    asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))
    assert cluster.s.nodes.requeue_node_work("n1", "test") == 0  # nothing left running there
    assert cluster.s.completion.complete_batches(job, [0]) == [0]


class LoopWatch:
    """A state store that notes each call made on an event loop's thread (it would stall that loop)."""

    def __init__(self, inner):
        self.inner, self.on_loop = inner, []

    def __getattr__(self, name):
        attr = getattr(self.inner, name)

        def call(*args, **kwargs):
            try:
                asyncio.get_running_loop()
                self.on_loop.append(name)
            except RuntimeError:  # a worker thread: no loop runs here
                pass
            return attr(*args, **kwargs)

        return call


def test_submit_cancel_and_requeue_do_their_store_work_off_the_event_loop(tmp_path):
    from hpcburst.domain.job import JobSpec
    from hpcburst.services.orchestrations import RecordingOrchestrations
    from hpcburst.services.root import build
    from hpcburst.storage.state.sqlite import SqliteStateStore

    store = LoopWatch(SqliteStateStore(tmp_path / "state.db"))
    services, orch = build(store), RecordingOrchestrations()

    async def scenario():
        job = await services.jobs.submit(
            JobSpec(tasks=[{"command": "x", "sweep": {"start": 1, "end": 3}}]), orch, owner="tester"
        )
        await services.jobs.cancel(job.id, orch, ADMIN)
        return await services.jobs.requeue(job.id, orch, ADMIN)

    assert asyncio.run(scenario()).requeued == 3
    assert store.on_loop == []
    services.close()


def test_a_canceled_job_requeued_before_its_orchestration_closed_it_is_left_to_the_new_one(cluster):
    job = cluster.submit()
    asyncio.run(cluster.s.jobs.cancel(job, cluster.orch, ADMIN))
    asyncio.run(cluster.s.jobs.requeue(job, cluster.orch, ADMIN, indices=[2]))
    late = cluster.s.completion.finish(job, instance=f"job-{job}")  # the canceled run, closing late
    assert late == {"job": job, "state": "Queued", "superseded_by": f"job-{job}-r1"}
    view = cluster.s.jobs.view(job, ADMIN)
    assert (view.state, view.counts["Queued"], view.counts["Canceled"]) == ("Queued", 1, 3)
