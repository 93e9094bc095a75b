"""Run one orchestrator episode: replay the history plus the new events through the SDK, read its decision.

Pure with respect to I/O: given the persisted history and the new events, it returns what to append to the
history and which work to hand out (see :mod:`.planner`). The SDK's own executor does the replay, so sequence
ids, task_all/task_any and retry bookkeeping are exactly the SDK's.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from dataclasses import dataclass, field
from typing import Any

from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.history.HistoryEvent import HistoryEvent
from azure.durable_functions.orchestrator import Orchestrator

from . import history as h
from .planner import NonDeterminism, Plan, plan_work
from .registry import OrchestratorSpec
from .sdk_events import build_events

OUT_OF_PROC_MARKER = "$OutOfProcData$:"
# The SDK warns whenever an event arrives before its wait; that is normal (it buffers it), not a problem.
warnings.filterwarnings("ignore", message="Potential duplicate Task completion")

SCHEMA_V2 = 1  # upperSchemaVersion: one flat action list with WhenAll/WhenAny compound actions

RUNNING = "Running"
COMPLETED = "Completed"
FAILED = "Failed"
CONTINUED_AS_NEW = "ContinuedAsNew"


@dataclass
class EpisodeInput:
    instance_id: str
    input_json: str | None
    parent_instance_id: str | None
    history: list[dict[str, Any]]  # persisted history of the current execution (may be empty)
    new_events: list[dict[str, Any]]  # events to deliver in this episode, in arrival order
    now: dt.datetime
    parsed: list[HistoryEvent] = field(default_factory=list)  # SDK events already built for a history prefix


@dataclass
class Decision:
    appended: list[dict[str, Any]]  # history events this episode adds
    status: str
    output_json: str | None = None
    custom_status_json: str | None = None
    error: str | None = None
    plan: Plan = field(default_factory=Plan)
    continue_as_new_input: str | None = None
    carried_events: list[dict[str, Any]] = field(default_factory=list)
    parsed: list[HistoryEvent] = field(default_factory=list)  # SDK events of the replayed history, for reuse


class _DeferredLog(dict):
    """The SDK's buffer of events nobody waited for yet; remembers which ones a later wait consumed."""

    def __init__(self) -> None:
        super().__init__()
        self.consumed: set[Any] = set()

    def __setitem__(self, key: Any, value: Any) -> None:
        self.consumed.discard(key)
        super().__setitem__(key, value)

    def __getitem__(self, key: Any) -> Any:
        self.consumed.add(key)
        return super().__getitem__(key)

    def unconsumed(self) -> set[Any]:
        return set(self) - self.consumed


class _TrackedHistory(list):
    """The history handed to the SDK; remembers how far its replay loop got (it stops at the event that ends
    the execution, so raised events after it were never seen and must be carried over on continue_as_new)."""

    reached = 0

    def __iter__(self):
        for index, item in enumerate(super().__iter__()):
            self.reached = index + 1
            yield item


def _ordered(new_events: list[dict]) -> list[dict]:
    # ExecutionStarted opens an execution: it must precede events that arrived with it (early raised events).
    started = [e for e in new_events if e["EventType"] == h.EXECUTION_STARTED]
    return started + [e for e in new_events if e["EventType"] != h.EXECUTION_STARTED]


def _run_sdk(spec: OrchestratorSpec, episode: EpisodeInput, events: list[dict]):
    # Building the SDK's HistoryEvent objects (a date parse each) is most of a replay's cost: reuse the ones
    # built in earlier episodes (the SDK never mutates them) and build only the new ones. The orchestrator
    # itself still replays from the first event.
    context = DurableOrchestrationContext(
        history=events[:2],
        instanceId=episode.instance_id,
        isReplaying=False,
        parentInstanceId=episode.parent_instance_id,
        input=episode.input_json,
        upperSchemaVersion=SCHEMA_V2,
    )
    prefix = episode.parsed[: len(events)]
    context._histories = _TrackedHistory(prefix + build_events(events[len(prefix) :]))
    context._input_expected_type = spec.input_type
    deferred = _DeferredLog()
    context.deferred_tasks = deferred
    try:
        state = json.loads(Orchestrator(spec.function).handle(context))
    except Exception as exc:  # the SDK raises with the state appended after a marker
        text = str(exc)
        if OUT_OF_PROC_MARKER in text:
            state = json.loads(text.split(OUT_OF_PROC_MARKER, 1)[1])
        else:
            state = {"isDone": False, "actions": [], "error": f"{type(exc).__name__}: {exc}"}
        if not state.get("error"):
            state["error"] = text
    return context, state, deferred


def run_episode(spec: OrchestratorSpec, episode: EpisodeInput, activity_exists) -> Decision:
    """Replay ``history + [OrchestratorStarted] + new_events`` and decide the episode's outcome."""
    started = h.event(h.ORCHESTRATOR_STARTED, timestamp=h.stamp(episode.now))
    new_events = [started, *_ordered(episode.new_events)]
    replayed = episode.history + new_events
    context, state, deferred = _run_sdk(spec, episode, replayed)
    custom = state.get("customStatus")
    custom_json = json.dumps(custom) if custom is not None else None
    plan = None
    if not state.get("error"):
        try:
            plan = plan_work(context, state, replayed, episode, activity_exists)
        except NonDeterminism as exc:
            state["error"] = str(exc)
    if plan is None or state.get("error"):
        message = f"Orchestrator function '{spec.name}' failed: {state['error']}"
        failed = h.event(h.EXECUTION_FAILED, Reason=message, Details=state["error"])
        appended = [*new_events, h.event(h.ORCHESTRATOR_COMPLETED), failed]
        return Decision(appended, FAILED, json.dumps(message), custom_json, error=message)
    appended = [*new_events, *plan.scheduled_events, h.event(h.ORCHESTRATOR_COMPLETED)]
    if context.will_continue_as_new:
        carried = _carried_events(replayed, deferred.unconsumed(), context._histories.reached)
        appended.append(h.event(h.CONTINUE_AS_NEW, Input=plan.continue_as_new_input))
        return Decision(
            appended,
            CONTINUED_AS_NEW,
            custom_status_json=custom_json,
            plan=plan,
            continue_as_new_input=plan.continue_as_new_input,
            carried_events=carried,
        )
    if state.get("isDone"):
        output_json = json.dumps(state.get("output"))
        appended.append(h.event(h.EXECUTION_COMPLETED, Result=output_json))
        return Decision(appended, COMPLETED, output_json, custom_json, plan=plan)
    # Keep the SDK events of the whole new history (the scheduling events too) for the next episode.
    parsed = context._histories + build_events(appended[len(new_events) :])
    return Decision(appended, RUNNING, custom_status_json=custom_json, plan=plan, parsed=parsed)


def _carried_events(replayed: list[dict], names: set[Any], reached: int) -> list[dict]:
    """Raised events the execution did not consume: buffered ones no wait took (the SDK keeps the last per
    name), and any the replay never reached. The host hands them to the next execution after continue_as_new."""
    carried: dict[Any, dict] = {}
    for item in replayed[:reached]:
        if item["EventType"] == h.EVENT_RAISED and item.get("Name") in names:
            carried[item["Name"]] = h.event_raised(item["Name"], item.get("Input"))
    unseen = [
        h.event_raised(item["Name"], item.get("Input"))
        for item in replayed[reached:]
        if item["EventType"] == h.EVENT_RAISED
    ]
    return [*carried.values(), *unseen]
