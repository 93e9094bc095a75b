"""HTTP triggers: one aiohttp handler that routes ``/<routePrefix>/...`` to functions, as the host does.

Builds ``func.HttpRequest`` (method, url, headers, query, route params, body), checks the auth level,
runs the function and turns what it returns into the response: ``func.HttpResponse`` as given, ``str``
as ``200 text/plain``, ``None`` as ``204``. A function that raises answers 500 with a short JSON body;
the traceback goes to the host log only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

from hpcburst.devhost.auth import Keys, key_of
from hpcburst.devhost.bindings import Invoker
from hpcburst.devhost.catalog import HTTP, FunctionSpec
from hpcburst.devhost.routes import Router, compile_route, find_conflicts
from hpcburst.errors import ConfigError

log = logging.getLogger("hpcburst.devhost")


def error_response(status: int, error: str, message: str) -> web.Response:
    """The devhost's own error answers: JSON ``{"error": ..., "message": ...}``."""
    return web.json_response({"error": error, "message": message}, status=status)


def _joined(pairs: Iterable[tuple[str, str]], lower: bool = False) -> dict[str, str]:
    """Repeated names joined with ',' (how the host flattens repeated query keys and headers)."""
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower else name
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged


def to_response(value: Any, function: str) -> web.Response:
    """The aiohttp response for what an HTTP function returned."""
    if value is None:
        return web.Response(status=204)
    if isinstance(value, str):
        return web.Response(status=200, text=value, content_type="text/plain", charset="utf-8")
    if isinstance(value, func.HttpResponse):
        headers: CIMultiDict[str] = CIMultiDict()
        for name, header in value.headers.items():
            headers.add(name, header)
        if "content-type" not in headers:
            mimetype = value.mimetype
            headers["Content-Type"] = (
                f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype
            )
        return web.Response(status=value.status_code, body=value.get_body(), headers=headers)
    log.error(
        "function %r returned %s: an HTTP function returns func.HttpResponse, str or None",
        function,
        type(value).__name__,
    )
    return error_response(
        500, "InternalError", f"function {function!r} returned an unsupported type; see the devhost log"
    )


class HttpTriggers:
    """The HTTP functions of an app behind one route table."""

    def __init__(
        self,
        specs: Iterable[FunctionSpec],
        invoker: Invoker,
        keys: Keys,
        route_prefix: str,
        enable_auth: bool = True,
    ) -> None:
        self.specs = {s.name: s for s in specs if s.trigger_type == HTTP}
        routes = [
            compile_route(str(s.trigger.get("route") or s.name), s.name, s.methods)
            for s in self.specs.values()
        ]
        conflicts = find_conflicts(routes)
        if conflicts:
            raise ConfigError("route conflict: " + "; ".join(conflicts))
        self.router = Router(routes)
        self.invoker = invoker
        self.keys = keys
        self.enable_auth = (
            enable_auth  # False: auth levels are not checked (as `func start` without --enableAuth)
        )
        self.prefix = route_prefix.strip("/")

    def _strip_prefix(self, path: str) -> str | None:
        path = path.lstrip("/")
        if not self.prefix:
            return path
        if path.lower() == self.prefix.lower():
            return ""
        head = self.prefix.lower() + "/"
        return path[len(head) :] if path.lower().startswith(head) else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rest = self._strip_prefix(request.path)
        found = self.router.resolve(request.method, rest) if rest is not None else None
        if found is None:
            return error_response(404, "NotFound", f"no function answers {request.method} {request.path}")
        route, params = found
        spec = self.specs[route.function]
        if self.enable_auth and not self.keys.allows(spec.auth_level, key_of(request.headers, request.query)):
            return error_response(
                401,
                "Unauthorized",
                f"function {spec.name!r} needs a{'n admin' if spec.auth_level == 'admin' else ' function'} key: "
                "send it as ?code=KEY or the x-functions-key header",
            )
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as too_large:
            return error_response(413, "PayloadTooLarge", f"request body too large: {too_large.text}")
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=_joined(request.headers.items(), lower=True),
            params=_joined(request.query.items()),
            route_params=params,
            body=body,
        )
        base_url = f"{request.scheme}://{request.host}"
        try:
            reason = "This function was programmatically called via the host APIs."
            outcome = await self.invoker.invoke(spec, http_request, reason, base_url=base_url)
        except Exception:  # noqa: BLE001 - the traceback is logged by the invoker; the caller gets a 500
            return error_response(500, "InternalError", f"function {spec.name!r} failed; see the devhost log")
        return to_response(outcome.http_response(spec), spec.name)
