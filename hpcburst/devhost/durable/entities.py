"""Durable entities: run a batch of operations through the SDK's entity wrapper, one batch per entity at once.

The entity wrapper takes ``{"self", "exists", "state", "batch"}`` and returns ``{"entityExists", "entityState",
"results", "signals"}``; operation inputs travel double-encoded (the wrapper ``json.loads`` then ``df_loads``).
A call's reply goes back to the calling orchestration as an EventRaised named by the request id.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from . import history as h
from .registry import DurableRegistry, EntitySpec
from .store import Batch, DurableStore, EntityMessageRow, Message

log = logging.getLogger("hpcburst.devhost.durable")


@dataclass
class EntityReply:
    parent: str
    parent_generation: int | None
    request_id: str
    body_json: str  # the EventRaised input: {"result": <json>, ["exceptionType": ...]}


@dataclass
class EntityOutcome:
    exists: bool
    state_json: str | None
    replies: list[EntityReply]


def split_entity_id(entity_id: str) -> tuple[str, str]:
    """``@name@key`` -> (name, key)."""
    name, _, key = entity_id[1:].partition("@")
    return name, key


def _reply(message: dict[str, Any], result_json: str, error: str | None) -> EntityReply | None:
    if message.get("signal") or not message.get("request_id"):
        return None
    body: dict[str, Any] = {"result": result_json}
    if error:
        body["exceptionType"] = error
    return EntityReply(
        message["parent"], message.get("parent_generation"), message["request_id"], json.dumps(body)
    )


def run_entity_batch(
    spec: EntitySpec | None, entity_id: str, state_json: str | None, messages: list[dict[str, Any]]
) -> EntityOutcome:
    """Apply ``messages`` (in order) to the entity; an unknown entity answers every call with an error."""
    name, key = split_entity_id(entity_id)
    if spec is None:
        reason = json.dumps(f"The entity function '{name}' doesn't exist or is not an entity function.")
        replies = [r for m in messages if (r := _reply(m, reason, "EntityNotFound"))]
        return EntityOutcome(state_json is not None, state_json, replies)
    batch = [{"name": m["op"], "input": json.dumps(m.get("input"))} for m in messages]
    context = {
        "self": {"name": name, "key": key},
        "exists": state_json is not None,
        "state": state_json,
        "batch": batch,
    }
    try:
        out = json.loads(spec.handle(json.dumps(context)))
    except Exception as exc:  # the wrapper itself failed: every call in the batch fails
        reason = json.dumps(f"Entity '{name}' failed: {type(exc).__name__}: {exc}")
        replies = [r for m in messages if (r := _reply(m, reason, type(exc).__name__))]
        return EntityOutcome(state_json is not None, state_json, replies)
    replies = []
    for message, result in zip(messages, out.get("results", []), strict=False):
        error = "Exception" if result.get("isError") else None
        reply = _reply(message, result.get("result") or "null", error)
        if reply:
            replies.append(reply)
    exists = bool(out.get("entityExists"))
    return EntityOutcome(exists, out.get("entityState") if exists else None, replies)


class EntityScheduler:
    """Queues entity messages; runs each entity's queued operations as one batch, one batch at a time, so the
    operations of one entity are serialized; commits new state, consumed messages and replies together."""

    def __init__(
        self,
        registry: DurableRegistry,
        pool: Executor,
        store: Callable[[], DurableStore],
        commit: Callable[[Batch], None],
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.store = store
        self.commit = commit
        self.queued: dict[str, list[EntityMessageRow]] = defaultdict(list)
        self.busy: set[str] = set()
        self.tasks: set[asyncio.Task] = set()

    def submit(self, rows: list[EntityMessageRow]) -> None:
        for row in rows:
            self.queued[row.entity_id].append(row)
            if row.entity_id not in self.busy:
                self.busy.add(row.entity_id)
                task = asyncio.get_running_loop().create_task(self._run(row.entity_id))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _run(self, entity_id: str) -> None:
        try:
            while self.queued.get(entity_id):
                rows = self.queued.pop(entity_id)
                await self._run_batch(entity_id, rows)
        except Exception:  # the messages stay in the store and run again after a restart
            log.exception("entity %s batch failed", entity_id)
        finally:
            self.busy.discard(entity_id)

    async def _run_batch(self, entity_id: str, rows: list[EntityMessageRow]) -> None:
        store = self.store()
        spec = self.registry.entity(split_entity_id(entity_id)[0])
        state = store.entity_state(entity_id)
        loop = asyncio.get_running_loop()
        messages = [r.message for r in rows]
        outcome = await loop.run_in_executor(self.pool, run_entity_batch, spec, entity_id, state, messages)
        batch = Batch(drop_entity_messages=[r.id for r in rows])
        batch.entity_states.append((entity_id, outcome.state_json if outcome.exists else None, h.stamp()))
        for reply in outcome.replies:
            raised = h.event_raised(reply.request_id, reply.body_json)
            batch.inbox.append(
                Message(store.new_id("inbox"), reply.parent, reply.parent_generation, 0.0, raised)
            )
        self.commit(batch)
