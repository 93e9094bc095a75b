"""Episodes are pure: feeding a history to the SDK's executor yields the decision, no engine or store needed."""

import datetime as dt

from durable_support import registry_for

from hpcburst.devhost.durable import history as h
from hpcburst.devhost.durable.episode import COMPLETED, RUNNING, EpisodeInput, run_episode

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)


def episode(name, history, new_events, input_json=None):
    spec = registry_for().orchestrators[name]
    return run_episode(
        spec, EpisodeInput("i-1", input_json, None, history, new_events, NOW), lambda n: n != "missing"
    )


def test_first_episode_schedules_only_the_first_activity_of_a_chain():
    decision = episode("chain", [], [h.execution_started("chain", None)])
    assert decision.status == RUNNING
    assert [(a.task_id, a.name, a.input_json) for a in decision.plan.activities] == [
        (0, "say_hello", '"Tokyo"')
    ]
    assert [e["EventType"] for e in decision.appended] == [
        h.ORCHESTRATOR_STARTED,
        h.EXECUTION_STARTED,
        h.TASK_SCHEDULED,
        h.ORCHESTRATOR_COMPLETED,
    ]


def test_replaying_all_completions_in_one_episode_finishes_the_chain():
    first = episode("chain", [], [h.execution_started("chain", None)])
    completions = [h.task_completed(0, '"a"')]
    second = episode("chain", first.appended, completions)
    third = episode("chain", first.appended + second.appended, [h.task_completed(1, '"b"')])
    fourth = episode("chain", first.appended + second.appended + third.appended, [h.task_completed(2, '"c"')])
    assert [a.task_id for a in second.plan.activities + third.plan.activities] == [1, 2]
    assert fourth.status == COMPLETED and fourth.output_json == '["a", "b", "c"]'


def test_a_failed_retryable_attempt_asks_for_a_retry_timer_with_the_next_id():
    args = '{"path": "unused", "failures": 9, "attempts": 3}'
    first = episode("with_retry", [], [h.execution_started("with_retry", args)], input_json=args)
    failed = episode("with_retry", first.appended, [h.task_failed(0, "boom")], input_json=args)
    assert [(t.task_id, t.fire_at) for t in failed.plan.timers] == [(1, NOW + dt.timedelta(milliseconds=50))]
    fired = episode(
        "with_retry", first.appended + failed.appended, [h.timer_fired(1, h.stamp(NOW))], input_json=args
    )
    assert [(a.task_id, a.name) for a in fired.plan.activities] == [(2, "flaky")]


def test_replaying_a_history_the_code_no_longer_matches_fails_as_non_deterministic():
    first = episode("chain", [], [h.execution_started("chain", None)])
    changed = [
        dict(e, Name="some_other_activity") if e["EventType"] == h.TASK_SCHEDULED else e
        for e in first.appended
    ]
    decision = episode("chain", changed, [])
    assert decision.status == "Failed" and "Non-deterministic" in decision.error


def test_an_event_after_the_completion_that_continues_as_new_is_carried_to_the_next_execution():
    first = episode(
        "eternal_listener",
        [],
        [h.execution_started("eternal_listener", "0"), h.event_raised("Add", "5")],
        "0",
    )
    # The activity result ends this execution (continue_as_new); the SDK stops replaying there, so the
    # event behind it in the same episode was never seen: it must not be lost.
    last = episode(
        "eternal_listener", first.appended, [h.task_completed(0, '"hi"'), h.event_raised("Add", "7")], "0"
    )
    assert last.status == "ContinuedAsNew" and last.continue_as_new_input == "5"
    assert [(e["Name"], e["Input"]) for e in last.carried_events] == [("Add", "7")]
