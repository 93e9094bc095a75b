"""The fast HistoryEvent builder produces exactly what the SDK's own constructor does."""

from azure.durable_functions.models.history.HistoryEvent import HistoryEvent

from hpcburst.devhost.durable import history as h
from hpcburst.devhost.durable.sdk_events import _fast, build_event


def test_fast_events_equal_the_sdk_constructor_for_every_kind_the_engine_writes():
    events = [
        h.event(h.ORCHESTRATOR_STARTED),
        h.execution_started("chain", '{"a": 1}'),
        h.event(h.TASK_SCHEDULED, 3, Name="say_hello", Input='"x"'),
        h.task_completed(3, '"done"'),
        h.task_failed(4, "boom", "details"),
        h.timer_fired(5, h.stamp()),
        h.event_raised("Approval", "true"),
        h.sub_orchestration_failed(6, "child failed"),
    ]
    assert build_event is _fast  # the self-check at import accepted the fast path for this SDK
    for raw in events:
        assert _fast(raw).__dict__ == HistoryEvent(**raw).__dict__
