"""The SDK's HTTP plumbing: one ``Channel`` per client (URL, token, optional transport for tests), a fresh
keep-alive ``httpx.Client`` per thread that streams, and the retry rule of the streaming calls.

Streaming calls (request batches, response polls) are retried on a transient failure with the very same
body: the broker deduplicates request ids and acknowledging twice is harmless, so a retry never doubles work.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from hpcburst.client.http import auth_headers, cluster_url, send, unwrap
from hpcburst.errors import HpcBurstError, InvalidSpec, StorageUnavailable

LONG_POLL = 20.0  # seconds a response poll may be held by the broker (below the HTTP timeout)
RETRY_FOR = 120.0  # seconds of consecutive transient failures before a streaming call gives up
M = TypeVar("M", bound=BaseModel)


class Channel:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0,
                 transport: Any = None) -> None:  # fmt: skip
        self.url = cluster_url(url)
        self.headers = auth_headers(token, self.url)
        self.timeout = timeout
        self._transport = transport  # an httpx (async) transport: tests pass an in-process fake broker
        self.http = self.new_client()

    def new_client(self, timeout: float | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=timeout or self.timeout,
                            transport=self._transport)  # fmt: skip

    def new_async_client(self, timeout: float | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=timeout or self.timeout,
                                 transport=self._transport)  # fmt: skip

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return unwrap(send(self.http, self.url, method, path, **kwargs))

    def close(self) -> None:
        self.http.close()


def post_json(http: httpx.Client, url: str, path: str, body: bytes) -> Any:
    """One streaming POST of an already encoded JSON body."""
    return unwrap(send(http, url, "POST", path, content=body, headers={"Content-Type": "application/json"}))


def encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def transient(error: BaseException) -> bool:
    """Worth retrying with the same body: the cluster unreachable, overloaded or restarting."""
    if isinstance(error, StorageUnavailable):
        return True
    return isinstance(error, HpcBurstError) and getattr(error, "status", 500) in (
        408,
        429,
        500,
        502,
        503,
        504,
    )


def with_retries(
    call: Callable[[int], Any], stopped: Callable[[], bool], retry_for: float = RETRY_FOR
) -> Any:
    """``call(attempt)`` (attempt 0, 1, ...) until it succeeds, a permanent error (raised), ``retry_for``
    seconds of transient ones (the last raised) or ``stopped()``. Backs off from 50 ms to 2 s."""
    delay, give_up, attempt = 0.05, time.monotonic() + retry_for, 0
    while True:
        try:
            return call(attempt)
        except HpcBurstError as e:
            if not transient(e) or stopped() or time.monotonic() + delay > give_up:
                raise
        time.sleep(delay)  # backing off from a failing cluster, not waiting for an event
        delay, attempt = min(delay * 2, 2.0), attempt + 1


async def with_retries_async(call: Callable[[int], Awaitable[Any]], retry_for: float = RETRY_FOR) -> Any:
    """``with_retries`` for asyncio."""
    delay, give_up, attempt = 0.05, time.monotonic() + retry_for, 0
    while True:
        try:
            return await call(attempt)
        except HpcBurstError as e:
            if not transient(e) or time.monotonic() + delay > give_up:
                raise
        await asyncio.sleep(delay)
        delay, attempt = min(delay * 2, 2.0), attempt + 1


def validated(model: type[M], body: dict[str, Any], what: str) -> M:
    """``model`` from ``body``, or InvalidSpec naming the first bad field (``what.field: why``)."""
    try:
        return model.model_validate(body)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidSpec(f"{what}{'.' + where if where else ''}: {first['msg']}", field=where) from None


def items(body: Any, key: str) -> list[Any]:
    """The list in a listing answer: ``{key: [...]}`` (or a bare list)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get(key), list):
        return body[key]  # type: ignore[no-any-return]
    raise HpcBurstError(f"unexpected answer listing {key}: {str(body)[:200]}")
