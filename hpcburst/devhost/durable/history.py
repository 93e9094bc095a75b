"""Orchestration history events in the Durable out-of-process JSON schema (the shape the host sends).

Events are plain dicts (``EventType``, ``EventId``, ``IsPlayed``, ``Timestamp`` + type-specific fields) so they
persist as JSON unchanged and feed the SDK's ``HistoryEvent(**event)`` directly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
EXECUTION_FAILED = 2
EXECUTION_TERMINATED = 3
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_SENT = 14
EVENT_RAISED = 15
CONTINUE_AS_NEW = 16
EXECUTION_SUSPENDED = 19
EXECUTION_RESUMED = 20

# Events that carry a sequence id the orchestrator allocated (the work was handed out).
SCHEDULING_EVENTS = frozenset({TASK_SCHEDULED, SUB_ORCHESTRATION_CREATED, TIMER_CREATED, EVENT_SENT})

EVENT_TYPE_NAMES = {
    EXECUTION_STARTED: "ExecutionStarted",
    EXECUTION_COMPLETED: "ExecutionCompleted",
    EXECUTION_FAILED: "ExecutionFailed",
    EXECUTION_TERMINATED: "ExecutionTerminated",
    TASK_SCHEDULED: "TaskScheduled",
    TASK_COMPLETED: "TaskCompleted",
    TASK_FAILED: "TaskFailed",
    SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
    SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
    SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
    TIMER_CREATED: "TimerCreated",
    TIMER_FIRED: "TimerFired",
    ORCHESTRATOR_STARTED: "OrchestratorStarted",
    ORCHESTRATOR_COMPLETED: "OrchestratorCompleted",
    EVENT_SENT: "EventSent",
    EVENT_RAISED: "EventRaised",
    CONTINUE_AS_NEW: "ContinueAsNew",
    EXECUTION_SUSPENDED: "ExecutionSuspended",
    EXECUTION_RESUMED: "ExecutionResumed",
}

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def stamp(moment: dt.datetime | None = None) -> str:
    """A timestamp in the format the SDK parses (naive UTC, microseconds, ``Z``)."""
    moment = moment or utc_now()
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.strftime(TIMESTAMP_FORMAT)


def parse_stamp(text: str) -> dt.datetime:
    """Parse a timestamp written by :func:`stamp` (or an ISO string) into naive UTC."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def event(event_type: int, event_id: int = -1, timestamp: str | None = None, **fields: Any) -> dict[str, Any]:
    """One history event; ``fields`` use the schema's names (``Name``, ``Input``, ``TaskScheduledId`` ...)."""
    body: dict[str, Any] = {
        "EventType": event_type,
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": timestamp or stamp(),
    }
    body.update(fields)
    return body


def execution_started(name: str, input_json: str | None, parent_instance_id: str | None = None) -> dict:
    # The SDK 1.7 reads ``Version`` from ExecutionStarted and fails without it.
    return event(
        EXECUTION_STARTED, Name=name, Input=input_json, Version="", ParentInstanceId=parent_instance_id
    )


def task_completed(task_id: int, result_json: str | None) -> dict:
    return event(TASK_COMPLETED, TaskScheduledId=task_id, Result=result_json)


def task_failed(task_id: int, reason: str, details: str = "") -> dict:
    return event(TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_fired(timer_id: int, fire_at: str) -> dict:
    return event(TIMER_FIRED, TimerId=timer_id, FireAt=fire_at)


def event_raised(name: str, input_json: str | None) -> dict:
    return event(EVENT_RAISED, Name=name, Input=input_json)


def sub_orchestration_completed(task_id: int, result_json: str | None) -> dict:
    return event(SUB_ORCHESTRATION_COMPLETED, TaskScheduledId=task_id, Result=result_json)


def sub_orchestration_failed(task_id: int, reason: str, details: str = "") -> dict:
    return event(SUB_ORCHESTRATION_FAILED, TaskScheduledId=task_id, Reason=reason, Details=details)


def public_view(events: list[dict[str, Any]], with_output: bool) -> list[dict[str, Any]]:
    """History as the status API shows it: named event types, inputs/results only when asked."""
    shown = []
    for raw in events:
        item = {k: v for k, v in raw.items() if k not in ("IsPlayed", "EventId")}
        item["EventType"] = EVENT_TYPE_NAMES.get(raw["EventType"], str(raw["EventType"]))
        if not with_output:
            item.pop("Result", None)
            item.pop("Input", None)
        shown.append(item)
    return shown
