"""The host's own admin endpoints (the subset of the Functions host admin API that local runs need).

- ``GET /admin/host/status`` (no key): ``{"state": "Running", ...}``, for waiting until the host is up;
- ``GET /admin/functions`` (master key): the indexed functions and their triggers;
- ``POST /admin/functions/{name}`` (master key), body ``{"input": "..."}``: run a non-HTTP function now
  (a timer with ``past_due=False``, a queue function with the input as the message body); answers 202.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web
from azure.functions.timer import TimerRequest

from hpcburst.devhost.auth import key_of
from hpcburst.devhost.catalog import QUEUE, TIMER
from hpcburst.devhost.http_trigger import error_response
from hpcburst.devhost.queue_trigger import queue_argument
from hpcburst.storage.queue.port import Message

if TYPE_CHECKING:
    from hpcburst.devhost.server import DevHost


def _unauthorized() -> web.Response:
    return error_response(
        401, "Unauthorized", "send the master key as ?code=KEY or the x-functions-key header"
    )


class AdminApi:
    def __init__(self, host: DevHost) -> None:
        self.host = host
        self.started = time.time()
        self.instance = uuid.uuid4().hex
        self._background: set[asyncio.Task[Any]] = set()

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/admin/host/status", self.status)
        app.router.add_get("/admin/functions", self.functions)
        app.router.add_post("/admin/functions/{name}", self.invoke)

    def _is_admin(self, request: web.Request) -> bool:
        keys = self.host.keys
        return keys is not None and keys.allows("admin", key_of(request.headers, request.query))

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": self.instance,
                "state": "Running",
                "processUptime": int((time.time() - self.started) * 1000),
            }
        )

    async def functions(self, request: web.Request) -> web.Response:
        if not self._is_admin(request):
            return _unauthorized()
        return web.json_response(
            [{"name": s.name, "trigger": s.trigger, "bindings": list(s.bindings)} for s in self.host.specs]
        )

    async def invoke(self, request: web.Request) -> web.Response:
        if not self._is_admin(request):
            return _unauthorized()
        name = request.match_info["name"]
        spec = next((s for s in self.host.specs if s.name.lower() == name.lower()), None)
        if spec is None or spec.trigger_type not in (TIMER, QUEUE):
            return error_response(404, "NotFound", f"no timer or queue function named {name!r}")
        try:
            body = json.loads(await request.read() or b"{}")
        except json.JSONDecodeError:
            return error_response(400, "InvalidSpec", 'the body must be JSON like {"input": "..."}')
        text = str(body.get("input", "")) if isinstance(body, dict) else ""
        if spec.trigger_type == TIMER:
            value: Any = TimerRequest(past_due=False, schedule_status={}, schedule={"AdjustForDST": True})
        else:
            message = Message(spec.trigger["queueName"], uuid.uuid4().hex, "", text, 1, time.time())
            value = queue_argument(spec, message)
        task = asyncio.create_task(self._run(spec, value))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return web.Response(status=202)

    async def _run(self, spec: Any, value: Any) -> None:
        invoker = self.host.invoker
        if invoker is None:
            return
        try:
            await invoker.invoke(spec, value, "This function was programmatically called via the host APIs.")
        except Exception:  # noqa: BLE001 - logged by the invoker
            pass
