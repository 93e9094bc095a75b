"""Replay semantics of each orchestration feature: retries, sub-orchestrations, timers, events, continue_as_new,
custom status, terminate, suspend/resume and failures."""

import pytest
from durable_support import running_engine, wait_until

from hpcburst.errors import InvalidSpec, InvalidState


def ids_by_type(engine, instance_id) -> dict[str, list[int]]:
    """The sequence ids the history recorded, per event type (raw history kept by the engine)."""
    found: dict[str, list[int]] = {}
    for event in engine.store.history(instance_id):
        found.setdefault(event["EventType"], []).append(event.get("EventId", -1))
    return found


def test_retry_that_always_fails_uses_ids_0_to_5_then_throws(db_path, tmp_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            args = {"path": str(tmp_path / "calls"), "failures": 99, "attempts": 3}
            instance_id = await engine.start_new("with_retry", input=args)
            status = await engine.wait_for_completion(instance_id, timeout=20)
            return status, ids_by_type(engine, instance_id)

    status, ids = run(scenario())
    assert status["runtimeStatus"] == "Completed"
    assert (
        status["output"]["result"].startswith("gave up:") and "attempt 3 failed" in status["output"]["result"]
    )
    assert status["output"]["after"] == "Hello after"
    assert ids[4] == [0, 2, 4, 6]  # TaskScheduled: three attempts, then the activity after the retry
    assert ids[10] == [1, 3, 5]  # TimerCreated: a retry timer after each failed attempt
    assert (tmp_path / "calls").read_text() == "3"


def test_retry_that_fails_once_then_succeeds(db_path, tmp_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            args = {"path": str(tmp_path / "calls"), "failures": 1, "attempts": 3}
            instance_id = await engine.start_new("with_retry", input=args)
            return await engine.wait_for_completion(instance_id, timeout=20), ids_by_type(engine, instance_id)

    status, ids = run(scenario())
    assert status["output"] == {"result": "succeeded on attempt 2", "after": "Hello after"}
    assert ids[4] == [0, 2, 3] and ids[10] == [1]


def test_sub_orchestrations_return_their_outputs(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("parent", input=[1, 2, 3])
            return await engine.wait_for_completion(instance_id, timeout=20)

    assert run(scenario())["output"] == [2, 4, 6]


def test_sub_orchestration_failure_propagates_to_the_parent(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            failing = await engine.start_new("parent", input=[1, -1])
            catching = await engine.start_new("parent_catching")
            return (
                await engine.wait_for_completion(failing, timeout=20),
                await engine.wait_for_completion(catching, timeout=20),
            )

    failing, catching = run(scenario())
    assert failing["runtimeStatus"] == "Failed" and "negative input -1" in failing["output"]
    assert catching["runtimeStatus"] == "Completed"
    assert catching["output"].startswith("caught:") and "negative input -1" in catching["output"]


def test_durable_timer_fires_after_its_due_time(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("sleeper", input=0.3)
            return await engine.wait_for_completion(instance_id, timeout=20)

    status = run(scenario())
    assert status["runtimeStatus"] == "Completed" and status["output"] >= 0.3


@pytest.mark.parametrize("early", [True, False])
def test_external_event_is_delivered_whether_it_arrives_before_or_after_the_wait(db_path, run, early):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("approval")
            if not early:
                await wait_until(engine, instance_id, lambda s: s["customStatus"] == "waiting for approval")
            await engine.raise_event(instance_id, "Approval", "yes")
            return await engine.wait_for_completion(instance_id, timeout=20)

    status = run(scenario())
    assert status["output"] == "yes" and status["customStatus"] == {"approved": "yes"}


def test_event_beats_timer_and_the_losing_timer_is_cancelled(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("race", input=3600)
            await wait_until(engine, instance_id, lambda s: s["runtimeStatus"] == "Running")
            await engine.raise_event(instance_id, "Go", 42)
            status = await engine.wait_for_completion(instance_id, timeout=20)
            pending_timers = [m for m in engine.store.inbox() if m.instance_id == instance_id]
            return status, pending_timers

    status, pending_timers = run(scenario())
    assert status["output"] == {"winner": "event", "value": 42}
    assert pending_timers == []


def test_timer_beats_event_when_no_event_comes(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("race", input=0.2)
            return await engine.wait_for_completion(instance_id, timeout=20)

    assert run(scenario())["output"] == {"winner": "timer"}


def test_continue_as_new_carries_state_and_resets_history(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("counter_loop", input={"n": 0, "until": 3})
            await engine.wait_for_completion(instance_id, timeout=20)
            return await engine.status(instance_id, show_history=True, show_history_output=True)

    status = run(scenario())
    assert status["output"] == {"n": 3, "until": 3}
    started = [e for e in status["historyEvents"] if e["EventType"] == "ExecutionStarted"]
    assert len(started) == 1 and '"n": 3' in started[0]["Input"]
    assert not [e for e in status["historyEvents"] if e["EventType"] == "TaskScheduled"]


def test_continue_as_new_carries_unprocessed_events_to_the_next_execution(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("eternal_listener", input=0)
            await engine.raise_event(instance_id, "Add", 5)
            await engine.raise_event(instance_id, "Add", 7)  # arrives while the first value is processed
            await wait_until(
                engine, instance_id, lambda s: s["input"] == 12 and s["runtimeStatus"] == "Running"
            )
            await engine.raise_event(instance_id, "Add", 0)
            return await engine.wait_for_completion(instance_id, timeout=20)

    assert run(scenario())["output"] == 12


def test_terminate_stops_the_instance_and_later_events_are_refused(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("waits_forever")
            await wait_until(engine, instance_id, lambda s: s["runtimeStatus"] == "Running")
            await engine.terminate(instance_id, "no longer needed")
            status = await engine.wait_for_completion(instance_id, timeout=20)
            with pytest.raises(InvalidState):
                await engine.raise_event(instance_id, "Never", 1)
            return status

    status = run(scenario())
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "no longer needed"


def test_suspended_instance_holds_events_until_resumed(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("waits_forever")
            await wait_until(engine, instance_id, lambda s: s["runtimeStatus"] == "Running")
            await engine.suspend(instance_id, "pause")
            await wait_until(engine, instance_id, lambda s: s["runtimeStatus"] == "Suspended")
            await engine.raise_event(instance_id, "Never", 1)
            held = await engine.status(instance_id)
            await engine.resume(instance_id, "go on")
            return held, await engine.wait_for_completion(instance_id, timeout=20)

    held, status = run(scenario())
    assert held["runtimeStatus"] == "Suspended"
    assert status["runtimeStatus"] == "Completed" and status["output"] == "impossible"


def test_unknown_activity_fails_the_instance_naming_the_activity(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("calls_missing")
            return await engine.wait_for_completion(instance_id, timeout=20)

    status = run(scenario())
    assert status["runtimeStatus"] == "Failed" and "no_such_activity" in status["output"]


def test_orchestrator_exception_fails_the_instance_with_its_message(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("raises")
            return await engine.wait_for_completion(instance_id, timeout=20)

    status = run(scenario())
    assert status["runtimeStatus"] == "Failed" and "orchestrator exploded" in status["output"]


def test_starting_an_unknown_orchestrator_is_a_clear_error(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            with pytest.raises(InvalidSpec, match="no_such_orchestrator"):
                await engine.start_new("no_such_orchestrator")

    run(scenario())


def test_sub_orchestration_with_retry_retries_then_propagates_the_failure(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("parent_retrying")
            status = await engine.wait_for_completion(instance_id, timeout=20)
            children = [s for s in await engine.list_statuses() if s["name"] == "child"]
            return status, ids_by_type(engine, instance_id), children

    status, ids, children = run(scenario())
    assert status["output"].startswith("gave up:") and "negative input -5" in status["output"]
    assert ids[7] == [0, 2] and ids[10] == [1, 3]  # two attempts, each followed by a retry timer
    assert sorted(c["runtimeStatus"] for c in children) == ["Failed", "Failed"]
