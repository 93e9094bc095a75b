"""Durable entities: run a batch of operations through the SDK's entity wrapper, one batch per entity at once.

The entity wrapper takes ``{"self", "exists", "state", "batch"}`` and returns ``{"entityExists", "entityState",
"results", "signals"}``; operation inputs travel double-encoded (the wrapper ``json.loads`` then ``df_loads``).
A call's reply goes back to the calling orchestration as an EventRaised named by the request id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .registry import EntitySpec


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
