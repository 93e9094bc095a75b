"""Submitting a job makes its first batch leasable at once; leases follow priority, pools and caps."""

import asyncio

import pytest
from principals import ADMIN, joiner
from store_counting_support import QueryCounting

from hpcburst.domain.states import JobState, TaskState
from hpcburst.errors import NotFound


def test_submit_stores_a_queued_job_and_starts_its_orchestration(cluster):
    job = cluster.submit(name="render")
    view = cluster.s.jobs.view(job, ADMIN)
    assert (view.name, view.owner, view.state, view.total) == ("render", "tester", "Queued", 4)
    assert view.counts["Queued"] == 4
    instance, data = cluster.orch.started[0]
    assert instance == f"job-{job}"
    assert data == {"job": job, "batches": 1, "next": 1, "open": [0]}


def test_job_ids_count_up(cluster):
    assert [cluster.submit(), cluster.submit()] == ["1", "2"]


def test_a_lease_hands_out_substituted_commands_and_marks_them_running(cluster):
    job = cluster.submit(
        tasks=[
            {
                "command": "echo *** > o*.txt",
                "sweep": {"start": 1, "end": 4},
                "workdir": "w*",
                "environment": {"X": "i*"},
            }
        ]
    )
    cluster.register("n1")
    leases = cluster.lease("n1", slots=2).leases
    assert [(lease.index, lease.attempt) for lease in leases] == [(1, 1), (2, 1)]
    assert leases[0].command == "echo 001 > o1.txt"
    assert (leases[0].workdir, leases[0].environment) == ("w1", {"X": "i1"})
    assert cluster.task(job, "1").state == TaskState.RUNNING
    assert cluster.task(job, "1").node == "n1"
    assert cluster.s.jobs.view(job, ADMIN).state == JobState.RUNNING


def test_an_unregistered_node_gets_not_found(cluster):
    cluster.submit()
    with pytest.raises(NotFound):
        cluster.lease("ghost")


def test_higher_priority_jobs_are_leased_first(cluster):
    low = cluster.submit(priority="Normal")
    high = cluster.submit(priority="Highest")
    cluster.register("n1")
    assert {lease.job for lease in cluster.lease("n1", slots=4).leases} == {high}
    assert {lease.job for lease in cluster.lease("n1", slots=4).leases} == {low}


def test_a_job_for_another_pool_is_not_leased(cluster):
    cluster.submit(pool="gpu")
    cluster.register("cpu1", pool="cpu")
    cluster.register("gpu1", pool="gpu")
    assert cluster.lease("cpu1", pool="cpu").leases == []
    assert len(cluster.lease("gpu1", pool="gpu").leases) == 2


def test_the_per_sweep_cap_is_never_exceeded(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 1, "end": 10}, "max_running": 2}])
    cluster.register("n1", slots=8)
    cluster.register("n2", slots=8)
    first = cluster.lease("n1", slots=8).leases
    assert len(first) == 2
    assert cluster.lease("n2", slots=8).leases == []
    cluster.finish("n1", first[0])
    more = cluster.lease("n2", slots=8).leases
    assert len(more) == 1
    assert cluster.s.jobs.view(job, ADMIN).counts["Running"] == 2


def test_short_tasks_are_leased_many_per_slot_once_their_runtime_is_known(cluster):
    cluster.submit(tasks=[{"command": "true", "sweep": {"start": 1, "end": 2000}}])
    cluster.register("n1")
    first = cluster.lease("n1", slots=2).leases
    assert len(first) == 2  # runtime unknown: one per free slot
    for lease in first:
        cluster.finish("n1", lease, seconds=0.002)
    assert len(cluster.lease("n1", slots=2).leases) > 100


def test_long_tasks_are_leased_one_per_free_slot(cluster):
    cluster.submit(tasks=[{"command": "sleep 60", "sweep": {"start": 1, "end": 50}}])
    cluster.register("n1")
    for lease in cluster.lease("n1", slots=2).leases:
        cluster.finish("n1", lease, seconds=60)
    assert len(cluster.lease("n1", slots=3).leases) == 3


def test_a_waiting_lease_wakes_when_work_is_submitted(cluster):
    cluster.register("n1")

    async def scenario():
        waiting = asyncio.create_task(cluster.s.lease.lease(_req("n1", wait=30)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        from hpcburst.domain.job import JobSpec

        await cluster.s.jobs.submit(JobSpec(tasks=[{"command": "x"}]), cluster.orch, owner="tester")
        return await waiting

    assert len(asyncio.run(scenario()).leases) == 1


def test_a_lease_with_nothing_to_do_returns_empty_after_waiting(cluster):
    cluster.register("n1")
    assert cluster.lease("n1", wait=0.1).leases == []


def _req(node, wait):
    from hpcburst.domain.protocol import LeaseRequest

    return LeaseRequest(node=node, free_slots=2, wait_seconds=wait)


def test_leases_take_the_lowest_batch_first_and_come_back_for_retries(cluster):
    job = cluster.submit(tasks=[{"command": "x", "sweep": {"start": 0, "end": 299}, "retries": 1}])
    cluster.s.dispatch.materialize(job, 2)
    cluster.s.dispatch.materialize(job, 1)
    cluster.register("n1")
    for lease in cluster.lease("n1", slots=2).leases:  # learn that these tasks are long
        cluster.finish("n1", lease, exit_code=1 if lease.index == 0 else 0, seconds=60)
    first = cluster.lease("n1", slots=150).leases
    assert {lease.index // 100 for lease in first} == {0, 1}  # batch 0 (minus 2), then batch 1
    assert 0 in {lease.index for lease in first}  # the retry of index 0
    rest = cluster.lease("n1", slots=200).leases
    assert {lease.index // 100 for lease in rest} == {1, 2}


def test_a_job_whose_orchestration_cannot_start_is_failed_not_left_queued(cluster):
    class Down:
        async def start(self, instance_id, input):
            raise ConnectionError("durable runtime unreachable")

    from hpcburst.domain.job import JobSpec

    with pytest.raises(ConnectionError):
        asyncio.run(cluster.s.jobs.submit(JobSpec(tasks=[{"command": "x"}]), Down(), owner="tester"))
    (job,) = cluster.s.jobs.list_jobs(ADMIN)[0]
    assert (job.state, job.message) == (
        "Failed",
        "could not start its orchestration: durable runtime unreachable",
    )


def test_a_job_whose_open_work_all_runs_is_not_searched_batch_by_batch(tmp_path):
    from hpcburst.domain.job import JobSpec
    from hpcburst.domain.protocol import LeaseRequest, RegisterRequest
    from hpcburst.services.orchestrations import RecordingOrchestrations
    from hpcburst.services.root import build
    from hpcburst.storage.state.sqlite import SqliteStateStore

    store = QueryCounting(SqliteStateStore(tmp_path / "state.db"))
    services = build(store)
    spec = JobSpec(tasks=[{"command": "x", "sweep": {"start": 0, "end": 1999}}])  # 10 batches of 200
    job = asyncio.run(services.jobs.submit(spec, RecordingOrchestrations(), owner="tester"))
    services.nodes.register(RegisterRequest(node="n1", slots=1), joiner())
    assert len(services.lease.lease_once(LeaseRequest(node="n1", free_slots=200)).leases) == 200
    store.task_queries = 0
    assert services.lease.lease_once(LeaseRequest(node="n1", free_slots=1)).leases == []
    assert store.task_queries == 1 < job.batches  # one query ordered by batch, not one per batch
    services.close()


def test_a_never_burst_job_is_never_leased_to_a_cloud_node_even_one_started_by_hand(cluster):
    kept = cluster.submit(never_burst=True, tasks=[{"command": "x *", "sweep": {"start": 1, "end": 3}}])
    cluster.register("burst-1", slots=8, cloud=True)
    assert cluster.lease("burst-1", slots=8).leases == []
    anywhere = cluster.submit(tasks=[{"command": "y *", "sweep": {"start": 1, "end": 2}}])
    assert {lease.job for lease in cluster.lease("burst-1", slots=8).leases} == {anywhere}
    cluster.register("onprem-1", slots=8)
    assert {lease.job for lease in cluster.lease("onprem-1", slots=8).leases} == {kept}
