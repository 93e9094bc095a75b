"""Translate the SDK's state after an episode into new work: activities, timers, sub-orchestrations, entity
messages, and the history events that record them.

The SDK holds every still-open task in ``context.open_tasks`` keyed by the sequence id it allocated; a task whose
id the history has not recorded yet is new work. Retries are the SDK's anonymous tasks (NoOpAction) under a
RetryAbleTask: a "-WithRetry timer" waits ``first_retry_interval``, a "rescheduled task" re-runs the parent's call.
Fire-and-forget signals never become open tasks: they are found in the action list instead.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from azure.durable_functions.models.actions.CallActivityAction import CallActivityAction
from azure.durable_functions.models.actions.CallActivityWithRetryAction import CallActivityWithRetryAction
from azure.durable_functions.models.actions.CallEntityAction import CallEntityAction
from azure.durable_functions.models.actions.CallSubOrchestratorAction import CallSubOrchestratorAction
from azure.durable_functions.models.actions.CallSubOrchestratorWithRetryAction import (
    CallSubOrchestratorWithRetryAction,
)
from azure.durable_functions.models.actions.CreateTimerAction import CreateTimerAction
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.Task import AtomicTask, TaskBase, TimerTask

from . import history as h
from .activities import missing_reason

ACTION_CONTINUE_AS_NEW = 4
ACTION_SIGNAL_ENTITY = 9
RETRY_TIMER = "-WithRetry timer"


@dataclass
class ActivityCall:
    task_id: int
    name: str
    input_json: str | None


@dataclass
class TimerCall:
    task_id: int
    fire_at: dt.datetime


@dataclass
class SubOrchestrationCall:
    task_id: int
    name: str
    instance_id: str
    input_json: str | None


@dataclass
class EntityMessage:
    entity_id: str  # "@name@key"
    operation: str
    input_json: str | None
    signal: bool
    request_id: str | None = None
    task_id: int = -1


@dataclass
class Plan:
    scheduled_events: list[dict[str, Any]] = field(default_factory=list)
    activities: list[ActivityCall] = field(default_factory=list)
    timers: list[TimerCall] = field(default_factory=list)
    sub_orchestrations: list[SubOrchestrationCall] = field(default_factory=list)
    entity_messages: list[EntityMessage] = field(default_factory=list)
    local_events: list[dict[str, Any]] = field(default_factory=list)  # delivered to this instance at once
    cancelled_timers: list[int] = field(default_factory=list)
    continue_as_new_input: str | None = None


def _flatten(actions: list[Any]) -> list[dict]:
    flat: list[dict] = []
    for item in actions:
        if isinstance(item, list):
            flat.extend(_flatten(item))
        elif "compoundActions" in item:
            flat.extend(_flatten(item["compoundActions"]))
        else:
            flat.append(item)
    return flat


class NonDeterminism(Exception):
    """Replay asked for different work under an id than the history recorded (the code changed)."""


def _recorded(history: list[dict]) -> tuple[dict[int, dict], int]:
    """The scheduling events the history recorded, by sequence id, and how many signals it sent."""
    events: dict[int, dict] = {}
    signals = 0
    for item in history:
        if item["EventType"] in h.SCHEDULING_EVENTS:
            events[item["EventId"]] = item
            signals += bool(item.get("IsSignal"))
    return events, signals


def _check_same_call(task_id: int, task: AtomicTask, recorded: dict) -> None:
    call = _the_call(task)
    name = getattr(call, "function_name", None)
    if recorded["EventType"] in (h.TASK_SCHEDULED, h.SUB_ORCHESTRATION_CREATED) and name != recorded.get(
        "Name"
    ):
        raise NonDeterminism(
            f"Non-deterministic workflow detected: task {task_id} was '{recorded.get('Name')}' in the history "
            f"but the orchestrator now calls '{name}'."
        )


def _the_call(task: AtomicTask) -> Any:
    """The action a task stands for; a retry's rescheduled attempt stands for its parent's call."""
    action = task._get_action()
    if isinstance(action, NoOpAction) and action.metadata != RETRY_TIMER:
        return task.parent.actions
    return action


class _Planner:
    def __init__(self, episode, activity_exists) -> None:
        self.episode = episode
        self.activity_exists = activity_exists
        self.plan = Plan()

    def record(self, event_type: int, task_id: int, **fields: Any) -> None:
        self.plan.scheduled_events.append(h.event(event_type, task_id, **fields))

    def add(self, task_id: int, task: AtomicTask) -> None:
        action = task._get_action()
        if isinstance(action, NoOpAction) and action.metadata == RETRY_TIMER:
            delay = dt.timedelta(milliseconds=task.parent.retry_options.first_retry_interval_in_milliseconds)
            return self.timer(task_id, self.episode.now + delay)
        call = _the_call(task)
        if isinstance(call, CreateTimerAction):
            fire_at = (
                call.fire_at.astimezone(dt.UTC).replace(tzinfo=None) if call.fire_at.tzinfo else call.fire_at
            )
            return self.timer(task_id, fire_at, cancelled=call.is_cancelled)
        if isinstance(call, (CallActivityAction, CallActivityWithRetryAction)):
            return self.activity(task_id, call.function_name, call.input_)
        if isinstance(call, (CallSubOrchestratorAction, CallSubOrchestratorWithRetryAction)):
            child_id = call.instance_id or f"{self.episode.instance_id}:{task_id}"
            self.record(
                h.SUB_ORCHESTRATION_CREATED,
                task_id,
                Name=call.function_name,
                InstanceId=child_id,
                Input=call._input,
            )
            self.plan.sub_orchestrations.append(
                SubOrchestrationCall(task_id, call.function_name, child_id, call._input)
            )
            return None
        if isinstance(call, CallEntityAction):
            request_id = str(uuid.uuid4())
            message = {"id": request_id, "op": call.operation}
            self.record(
                h.EVENT_SENT, task_id, Name="op", InstanceId=call.instance_id, Input=json.dumps(message)
            )
            self.plan.entity_messages.append(
                EntityMessage(call.instance_id, call.operation, call.input_, False, request_id, task_id)
            )
            return None
        reason = f"The devhost does not support the action {type(call).__name__}"
        self.record(h.TASK_SCHEDULED, task_id, Name=type(call).__name__)
        self.plan.local_events.append(h.task_failed(task_id, reason))
        return None

    def timer(self, task_id: int, fire_at: dt.datetime, cancelled: bool = False) -> None:
        self.record(h.TIMER_CREATED, task_id, FireAt=h.stamp(fire_at))
        if not cancelled:
            self.plan.timers.append(TimerCall(task_id, fire_at))

    def activity(self, task_id: int, name: str, input_json: str | None) -> None:
        self.record(h.TASK_SCHEDULED, task_id, Name=name, Input=input_json)
        if self.activity_exists(name):
            self.plan.activities.append(ActivityCall(task_id, name, input_json))
        else:
            self.plan.local_events.append(h.task_failed(task_id, missing_reason(name)))


def plan_work(context, state: dict, replayed: list[dict], episode, activity_exists) -> Plan:
    """New work from this episode: open tasks with unrecorded ids, new signals, cancelled timers."""
    recorded, signals_sent = _recorded(replayed)
    planner = _Planner(episode, activity_exists)
    open_ids: set[int] = set()
    for task_id, task in sorted(
        ((k, v) for k, v in context.open_tasks.items() if isinstance(k, int) and isinstance(v, TaskBase)),
        key=lambda pair: pair[0],
    ):
        open_ids.add(task_id)
        if task_id not in recorded:
            planner.add(task_id, task)
            continue
        _check_same_call(task_id, task, recorded[task_id])
        if isinstance(task, TimerTask) and task.is_cancelled:
            planner.plan.cancelled_timers.append(task_id)
    flat = _flatten(state.get("actions") or [])
    _plan_signals(planner, flat, signals_sent, context._sequence_number, set(recorded) | open_ids)
    for action in flat:
        if action.get("actionType") == ACTION_CONTINUE_AS_NEW:
            planner.plan.continue_as_new_input = action.get("input")
    # Messages to one entity must arrive in the order the orchestrator issued them.
    planner.plan.entity_messages.sort(key=lambda m: m.task_id)
    planner.plan.scheduled_events.sort(key=lambda e: e["EventId"])
    return planner.plan


def _plan_signals(planner: _Planner, flat: list[dict], sent: int, next_id: int, taken: set[int]) -> None:
    signals = [a for a in flat if a.get("actionType") == ACTION_SIGNAL_ENTITY][sent:]
    if not signals:
        return
    # Signals consumed an id each when called; they are the ids nobody else holds, in order.
    free_ids = [i for i in range(next_id) if i not in taken]
    for index, action in enumerate(signals):
        task_id = free_ids[index] if index < len(free_ids) else -1
        message = {"op": action["operation"], "signal": True}
        planner.record(
            h.EVENT_SENT,
            task_id,
            Name="op",
            InstanceId=action["instanceId"],
            Input=json.dumps(message),
            IsSignal=True,
        )
        planner.plan.entity_messages.append(
            EntityMessage(action["instanceId"], action["operation"], action.get("input"), True, None, task_id)
        )
