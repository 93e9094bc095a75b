"""The job orchestrator finishes sweeps, cancels and requeues them, and keeps its history bounded."""

from __future__ import annotations

import asyncio

import pytest
from orchestration_support import EngineOrchestrations, running_engine
from principals import ADMIN, joiner

from hpcburst.domain.job import JobSpec
from hpcburst.domain.protocol import LeaseRequest, RegisterRequest, ReportRequest, TaskResult
from orchestrations import job_orchestrator

# The SDK warns when a hint event arrives before the orchestrator waits for it (it buffers it): expected.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")


def _sweep(n: int, **task) -> JobSpec:
    return JobSpec(tasks=[{"command": "run *", "sweep": {"start": 1, "end": n}, **task}])


async def _agent_round(services, orch, exit_code=lambda index: 0, poke=True) -> int:
    """One lease (300 one-second indices) + report; raises the hint events the report function raises."""
    lease = await services.lease.lease(LeaseRequest(node="n1", free_slots=300))
    results = [
        TaskResult(
            task=x.task, attempt=x.attempt, exit_code=exit_code(x.index), started_at=1.0, ended_at=1.001
        )
        for x in lease.leases
    ]
    outcome = services.report.report(ReportRequest(node="n1", results=results))
    if poke:
        for instance, job, batch in outcome.completed:
            await orch.raise_event(instance, {"kind": "batch_done", "job": job, "batch": batch})
    return len(results)


async def _run_until_done(engine, services, orch, instance, exit_code=lambda index: 0) -> dict:
    for _ in range(500):
        status = await engine.status(instance)
        if status and status["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            return await engine.status(instance, show_history=True)
        if not await _agent_round(services, orch, exit_code):
            await asyncio.sleep(0.01)
    raise AssertionError(f"{instance} did not complete: {await engine.status(instance)}")


@pytest.fixture(autouse=True)
def small_generations(monkeypatch):
    monkeypatch.setattr(job_orchestrator, "EVENTS_PER_GENERATION", 3)


def test_a_sweep_of_many_batches_finishes_through_continue_as_new_with_bounded_history(services, durable_db):
    async def scenario():
        async with running_engine(durable_db) as engine:
            orch = EngineOrchestrations(engine)
            services.nodes.register(RegisterRequest(node="n1", slots=4), joiner())
            job = await services.jobs.submit(_sweep(3000), orch, owner="tester")  # 10 batches of 300
            return job, await _run_until_done(engine, services, orch, job.instance_id)

    job, status = asyncio.run(scenario())
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"job": job.id, "state": "Finished"}
    assert status["input"]["generation"] >= 1  # it continued as new (3 events per generation here)
    assert len(status["historyEvents"]) < 60
    view = services.jobs.view(job.id, ADMIN)
    assert (view.state, view.counts["Finished"]) == ("Finished", 3000)


def test_a_failed_index_fails_the_job_and_requeue_runs_it_again(services, durable_db):
    async def scenario():
        async with running_engine(durable_db) as engine:
            orch = EngineOrchestrations(engine)
            services.nodes.register(RegisterRequest(node="n1", slots=4), joiner())
            job = await services.jobs.submit(_sweep(5), orch, owner="tester")
            first = await _run_until_done(engine, services, orch, job.instance_id, lambda i: int(i == 3))
            result = await services.jobs.requeue(job.id, orch, ADMIN)
            again = services.catalog.get(job.id, fresh=True).instance_id
            second = await _run_until_done(engine, services, orch, again)
            return job, first, result, second

    job, first, requeued, second = asyncio.run(scenario())
    assert first["output"]["state"] == "Failed"
    assert requeued.requeued == 1
    assert second["output"]["state"] == "Finished"
    assert services.jobs.view(job.id, ADMIN).counts["Finished"] == 5


def test_cancel_ends_the_orchestration_with_the_job_canceled(services, durable_db):
    async def scenario():
        async with running_engine(durable_db) as engine:
            orch = EngineOrchestrations(engine)
            services.nodes.register(RegisterRequest(node="n1", slots=4), joiner())
            job = await services.jobs.submit(_sweep(1000), orch, owner="tester")
            await services.lease.lease(LeaseRequest(node="n1", free_slots=4))
            await services.jobs.cancel(job.id, orch, ADMIN)
            return job, await engine.wait_for_completion(job.instance_id, 30)

    job, status = asyncio.run(scenario())
    assert status["output"] == {"job": job.id, "state": "Canceled"}
    counts = services.jobs.view(job.id, ADMIN).counts
    assert counts["Canceled"] == 1000 and counts["Queued"] == counts["Running"] == 0


def test_a_lost_batch_done_event_is_recovered_by_the_next_check(services, durable_db):
    async def scenario():
        async with running_engine(durable_db) as engine:
            orch = EngineOrchestrations(engine)
            services.nodes.register(RegisterRequest(node="n1", slots=4), joiner())
            job = await services.jobs.submit(_sweep(10), orch, owner="tester")
            await _agent_round(services, orch, poke=False)  # the hint is lost
            await orch.raise_event(job.instance_id, {"kind": "check"})  # what the timer sends
            return job, await engine.wait_for_completion(job.instance_id, 30)

    job, status = asyncio.run(scenario())
    assert status["output"] == {"job": job.id, "state": "Finished"}


def test_a_storage_hiccup_in_an_activity_is_retried_not_fatal(services, durable_db, monkeypatch):
    import azure.durable_functions as df

    monkeypatch.setattr(
        job_orchestrator,
        "RETRY",
        df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=3),
    )
    failures = []
    real_enqueue = services.dispatch.enqueue

    def flaky_enqueue(job_id, batches):
        if not failures:
            failures.append(batches)
            raise ConnectionError("storage hiccup")
        real_enqueue(job_id, batches)

    monkeypatch.setattr(services.dispatch, "enqueue", flaky_enqueue)

    async def scenario():
        async with running_engine(durable_db) as engine:
            orch = EngineOrchestrations(engine)
            services.nodes.register(RegisterRequest(node="n1", slots=4), joiner())
            job = await services.jobs.submit(
                _sweep(300), orch, owner="tester"
            )  # batch 0 at submission, 1-2 dispatched
            return await _run_until_done(engine, services, orch, job.instance_id)

    status = asyncio.run(scenario())
    assert failures and status["output"]["state"] == "Finished"
