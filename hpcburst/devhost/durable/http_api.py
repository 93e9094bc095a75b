"""The Durable HTTP API (``/runtime/webhooks/durabletask/...``) on aiohttp, as the SDK client calls it.

Start (POST orchestrators/{name}[/{id}]), status (GET instances/{id}), list (GET instances), raise event,
terminate, suspend, resume (POST instances/{id}/...), purge (DELETE instances/{id}), entities (GET/POST
entities/{name}/{key}). Status codes follow the documented API: 202 accepted / running, 200 done, 404 unknown
instance, 410 instance already finished, 400 bad request (the SDK reads ``ExceptionMessage`` on 400).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from aiohttp import web

from ...errors import HpcBurstError, InvalidSpec, error_body, http_status
from .instances import TERMINAL

if TYPE_CHECKING:
    from .engine import DurableEngine

PREFIX = "/runtime/webhooks/durabletask/"
CONTROL = {"terminate", "suspend", "resume"}


def _truthy(value: str | None, default: bool = False) -> bool:
    return default if value is None else value.lower() == "true"


def _error(exc: HpcBurstError) -> web.Response:
    body = error_body(exc)
    body["ExceptionMessage"] = exc.message
    return web.json_response(body, status=http_status(exc))


async def read_input_json(request: web.Request) -> str | None:
    """The request body as a JSON document string.

    The SDK client posts its already-serialized payload as a JSON string (``json=df_dumps(x)``); a plain client
    (curl) posts the JSON itself. Both become the same stored JSON.
    """
    raw = await request.text()
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidSpec("Only application/json request content is supported") from exc
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            pass
    return json.dumps(value)


def management_payload(request: web.Request, engine: DurableEngine, instance_id: str) -> dict[str, str]:
    base = f"{request.scheme}://{request.host}"
    urls = json.loads(engine.client_binding(base))["managementUrls"]
    return {key: value.replace("INSTANCEID", instance_id) for key, value in urls.items()}


async def handle_http(engine: DurableEngine, request: web.Request) -> web.Response:
    path = request.path
    tail = path[path.index(PREFIX) + len(PREFIX) :] if PREFIX in path else path.lstrip("/")
    parts = [p for p in tail.split("/") if p]
    try:
        return await _route(engine, request, parts)
    except HpcBurstError as exc:
        return _error(exc)


async def _route(engine: DurableEngine, request: web.Request, parts: list[str]) -> web.Response:
    method = request.method
    head = parts[0] if parts else ""
    if head == "orchestrators" and method == "POST" and len(parts) in (2, 3):
        return await _start(engine, request, parts[1], parts[2] if len(parts) == 3 else None)
    if head == "instances" and len(parts) == 1:
        if method == "GET":
            return await _list(engine, request)
        if method == "DELETE":
            return await _purge_many(engine, request)
    if head == "instances" and len(parts) >= 2:
        return await _instance(engine, request, parts[1], parts[2:])
    if head == "entities" and len(parts) == 3:
        return await _entity(engine, request, parts[1], parts[2])
    raise _NotRouted(f"No Durable HTTP API route for {method} {request.path}")


class _NotRouted(HpcBurstError):
    status = 404


async def _start(
    engine: DurableEngine, request: web.Request, name: str, instance_id: str | None
) -> web.Response:
    input_json = await read_input_json(request)
    instance_id = await engine.start_new_json(name, instance_id, input_json)
    if (
        "timeout" in request.query
    ):  # createAndWaitOnNewInstancePostUri: answer with the output if done in time
        status = await engine.wait_for_completion(instance_id, _seconds(request.query["timeout"]))
        if status["runtimeStatus"] == "Completed":
            return web.json_response(status["output"])
        if status["runtimeStatus"] in TERMINAL:
            return web.json_response(status, status=500 if status["runtimeStatus"] == "Failed" else 200)
    payload = management_payload(request, engine, instance_id)
    return web.json_response(payload, status=202, headers={"Location": payload["statusQueryGetUri"]})


def _seconds(text: str) -> float:
    try:
        return max(0.0, float(text))
    except ValueError as exc:
        raise InvalidSpec(f"timeout must be a number of seconds, not {text!r}") from exc


async def _instance(
    engine: DurableEngine, request: web.Request, instance_id: str, rest: list[str]
) -> web.Response:
    method, query = request.method, request.query
    if not rest and method == "GET":
        status = await engine.status(
            instance_id,
            show_history=_truthy(query.get("showHistory")),
            show_input=_truthy(query.get("showInput"), default=True),
            show_history_output=_truthy(query.get("showHistoryOutput")),
        )
        if status is None:
            return web.json_response({"message": f"No instance with ID '{instance_id}' found."}, status=404)
        code = 200 if status["runtimeStatus"] in TERMINAL else 202
        if status["runtimeStatus"] == "Failed" and _truthy(query.get("returnInternalServerErrorOnFailure")):
            code = 500
        return web.json_response(status, status=code)
    if not rest and method == "DELETE":
        deleted = await engine.purge(instance_id)
        return web.json_response({"instancesDeleted": deleted})
    if len(rest) == 2 and rest[0] == "raiseEvent" and method == "POST":
        await engine.raise_event_json(instance_id, rest[1], await read_input_json(request))
        return web.json_response(None, status=202)
    if len(rest) == 1 and rest[0] in CONTROL and method == "POST":
        await getattr(engine, rest[0])(instance_id, query.get("reason", ""))
        return web.json_response(None, status=202)
    if len(rest) == 1 and rest[0] == "restart" and method == "POST":
        new_id = _truthy(query.get("restartWithNewInstanceId"), default=True)
        restarted = await engine.restart(instance_id, new_instance_id=new_id)
        return web.json_response(restarted, status=202)
    if len(rest) == 1 and rest[0] == "rewind" and method == "POST":
        return web.json_response({"message": "rewind is not supported by the devhost"}, status=501)
    raise _NotRouted(f"No Durable HTTP API route for {method} {request.path}")


def _status_filter(request: web.Request) -> dict:
    query = request.query
    statuses = [s for s in re.split(r"[,\s]+", query.get("runtimeStatus", "")) if s]
    return {
        "statuses": statuses or None,
        "prefix": query.get("instanceIdPrefix"),
        "created_from": query.get("createdTimeFrom"),
        "created_to": query.get("createdTimeTo"),
    }


async def _list(engine: DurableEngine, request: web.Request) -> web.Response:
    show_input = _truthy(request.query.get("showInput"))
    return web.json_response(await engine.list_statuses(**_status_filter(request), show_input=show_input))


async def _purge_many(engine: DurableEngine, request: web.Request) -> web.Response:
    matches = await engine.list_statuses(**_status_filter(request))
    deleted = 0
    for status in matches:
        if status["runtimeStatus"] in TERMINAL:
            deleted += await engine.purge(status["instanceId"])
    if not deleted:
        return web.json_response({"instancesDeleted": 0}, status=404)
    return web.json_response({"instancesDeleted": deleted})


async def _entity(engine: DurableEngine, request: web.Request, name: str, key: str) -> web.Response:
    if request.method == "GET":
        exists, state = await engine.entity_state(name, key)
        if not exists:
            return web.json_response({"message": f"Entity @{name}@{key} not found."}, status=404)
        return web.json_response(state)
    if request.method == "POST":
        operation = request.query.get("op", "")
        await engine.signal_entity_json(name, key, operation, await read_input_json(request))
        return web.json_response(None, status=202)
    raise _NotRouted(f"No Durable HTTP API route for {request.method} {request.path}")
