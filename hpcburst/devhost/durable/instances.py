"""In-memory view of an orchestration instance and the translation of an episode's decision into a store batch.

The engine keeps each live instance's history and inbox in memory (the store is the source of truth after a
restart); :func:`decision_batch` turns one :class:`~.episode.Decision` into the atomic :class:`~.store.Batch`
(its new messages and work go to the in-memory queues once it is committed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from . import history as h
from .episode import COMPLETED, CONTINUED_AS_NEW, FAILED, Decision
from .store import ActivityRow, Batch, DurableStore, EntityMessageRow, InstanceRow, Message

PENDING = "Pending"
RUNNING = "Running"
SUSPENDED = "Suspended"
TERMINATED = "Terminated"
TERMINAL = frozenset({COMPLETED, FAILED, TERMINATED})
CONTROL_EVENTS = frozenset({h.EXECUTION_TERMINATED, h.EXECUTION_SUSPENDED, h.EXECUTION_RESUMED})


@dataclass
class LiveInstance:
    row: InstanceRow
    history: list[dict[str, Any]]
    pending: list[Message] = field(default_factory=list)
    parsed: list[Any] = field(default_factory=list)  # the SDK's HistoryEvents for a prefix of history
    timers: dict[int, int] = field(default_factory=dict)  # timer task id -> inbox message id
    busy: bool = False
    queued: bool = False
    next_allowed: float = 0.0  # monotonic time before which no new episode starts (pacing)
    wake: asyncio.TimerHandle | None = None
    wake_at: float = 0.0

    def add(self, message: Message) -> None:
        self.pending.append(message)
        if message.event["EventType"] == h.TIMER_FIRED and message.generation == self.row.generation:
            self.timers[message.event["TimerId"]] = message.id

    def consumable(self, now: float) -> list[Message]:
        visible = [m for m in self.pending if m.visible_at <= now]
        if self.row.status == SUSPENDED:
            return [m for m in visible if m.event["EventType"] in CONTROL_EVENTS]
        return visible

    def next_due(self) -> float | None:
        candidates = self.pending
        if self.row.status == SUSPENDED:
            candidates = [m for m in candidates if m.event["EventType"] in CONTROL_EVENTS]
        return min((m.visible_at for m in candidates), default=None)


def message(
    store: DurableStore, instance_id: str, generation: int | None, event: dict, visible_at: float = 0.0
):
    return Message(store.new_id("inbox"), instance_id, generation, visible_at, event)


def new_instance_row(instance_id: str, name: str, input_json: str | None, generation: int, **parent: Any):
    now = h.stamp()
    return InstanceRow(instance_id, name, PENDING, input_json, None, None, now, now, generation, **parent)


def start_messages(store: DurableStore, row: InstanceRow) -> Message:
    started = h.execution_started(row.name, row.input_json, row.parent_id)
    return message(store, row.instance_id, row.generation, started)


def parent_notice(store: DurableStore, row: InstanceRow) -> Message | None:
    """The completion a sub-orchestration sends its parent when it reaches a terminal state."""
    if row.parent_id is None or row.parent_task is None:
        return None
    if row.status == COMPLETED:
        event = h.sub_orchestration_completed(row.parent_task, row.output_json)
    else:
        reason = json.loads(row.output_json) if row.output_json else row.status
        reason = reason if isinstance(reason, str) else json.dumps(reason)
        event = h.sub_orchestration_failed(
            row.parent_task, f"Sub-orchestration '{row.name}' {row.status.lower()}: {reason}"
        )
    return message(store, row.parent_id, row.parent_generation, event)


def finish(store: DurableStore, live: LiveInstance, batch: Batch) -> None:
    """Drop the instance's pending timers and tell its parent; the row already holds the terminal state."""
    batch.drop_inbox += list(live.timers.values())
    live.timers.clear()
    notice = parent_notice(store, live.row)
    if notice:
        batch.inbox.append(notice)


def decision_batch(store, live: LiveInstance, decision: Decision, consumed: list[int], lookup_row) -> Batch:
    """Everything one episode changes, as one batch; ``live`` is updated to the committed state by the caller."""
    row = live.row
    batch = Batch(drop_inbox=list(consumed))
    row.updated = h.stamp()
    row.custom_status_json = decision.custom_status_json
    batch.history = _history_rows(live, decision.appended)
    gen = row.generation
    plan = decision.plan
    for task_id in plan.cancelled_timers:
        if task_id in live.timers:
            batch.drop_inbox.append(live.timers.pop(task_id))
    for message_call in plan.entity_messages:
        body = {"op": message_call.operation, "input": message_call.input_json, "signal": message_call.signal,
                "parent": row.instance_id, "parent_generation": gen, "request_id": message_call.request_id}  # fmt: skip
        batch.entity_messages.append(
            EntityMessageRow(store.new_id("entity_inbox"), message_call.entity_id, body)
        )
    if decision.status == CONTINUED_AS_NEW:
        # The next execution starts from an empty history; the old one is not kept (as the host does).
        row.generation, row.input_json, row.status = gen + 1, decision.continue_as_new_input, PENDING
        batch.history = []
        batch.reset_history.append(row.instance_id)
        batch.drop_inbox += list(live.timers.values())
        live.timers.clear()
        batch.inbox.append(start_messages(store, row))
        batch.inbox += [message(store, row.instance_id, None, ev) for ev in decision.carried_events]
        batch.instances.append(row)
        return batch
    row.status = decision.status
    if decision.status in (COMPLETED, FAILED):
        row.output_json = decision.output_json
        finish(store, live, batch)
        batch.instances.append(row)
        return batch
    for activity in plan.activities:
        batch.activities.append(
            ActivityRow(
                store.new_id("activities"),
                row.instance_id,
                gen,
                activity.task_id,
                activity.name,
                activity.input_json,
            )
        )
    for timer in plan.timers:
        fired = h.timer_fired(timer.task_id, h.stamp(timer.fire_at))
        at = timer.fire_at.replace(tzinfo=dt.UTC).timestamp()
        batch.inbox.append(message(store, row.instance_id, gen, fired, visible_at=at))
    batch.inbox += [message(store, row.instance_id, gen, ev) for ev in plan.local_events]
    for child in plan.sub_orchestrations:
        _start_child(store, batch, row, child, lookup_row)
    batch.instances.append(row)
    return batch


def _start_child(store, batch: Batch, parent: InstanceRow, call, lookup_row) -> None:
    existing = lookup_row(call.instance_id)
    if existing is not None and existing.status not in TERMINAL:
        reason = (
            f"An orchestration with instance id '{call.instance_id}' already exists and is {existing.status}."
        )
        failed = h.sub_orchestration_failed(call.task_id, reason)
        batch.inbox.append(message(store, parent.instance_id, parent.generation, failed))
        return
    generation = existing.generation + 1 if existing else 0
    child = new_instance_row(
        call.instance_id, call.name, call.input_json, generation,
        parent_id=parent.instance_id, parent_task=call.task_id, parent_generation=parent.generation,
    )  # fmt: skip
    batch.instances.append(child)
    batch.reset_history.append(child.instance_id)
    batch.inbox.append(start_messages(store, child))


def _history_rows(live: LiveInstance, appended: list[dict]) -> list[tuple[str, int, dict]]:
    base = len(live.history)
    return [(live.row.instance_id, base + i, ev) for i, ev in enumerate(appended)]


def _closing(
    store, live: LiveInstance, messages: list[Message], status: str, output_json: str, appended: list[dict]
):
    row = live.row
    row.status, row.output_json, row.updated = status, output_json, h.stamp()
    batch = Batch(drop_inbox=[m.id for m in messages], instances=[row], history=_history_rows(live, appended))
    finish(store, live, batch)
    return batch, appended


def terminated(store, live: LiveInstance, messages: list[Message], reason: Any) -> tuple[Batch, list[dict]]:
    """The instance is terminated: no replay, its timers dropped, its parent told."""
    appended = [h.event(h.ORCHESTRATOR_STARTED), h.event(h.EXECUTION_TERMINATED, Input=reason)]
    return _closing(store, live, messages, TERMINATED, json.dumps(reason), appended)


def unknown_orchestrator(store, live: LiveInstance, messages: list[Message]) -> tuple[Batch, list[dict]]:
    reason = f"The orchestrator function '{live.row.name}' doesn't exist in this app."
    return _closing(
        store, live, messages, FAILED, json.dumps(reason), [h.event(h.EXECUTION_FAILED, Reason=reason)]
    )


def suspension(
    live: LiveInstance, controlling: list[Message], controls: list[dict]
) -> tuple[Batch, list[dict]]:
    """Only control messages are consumed while suspended; the others wait for the resume."""
    row = live.row
    row.status, row.updated = SUSPENDED, h.stamp()
    batch = Batch(
        drop_inbox=[m.id for m in controlling], instances=[row], history=_history_rows(live, controls)
    )
    return batch, controls
