"""Calling a function as the Python worker does: build its arguments, run it, collect its outputs.

- the trigger value goes to the trigger's parameter; a ``durableClient`` parameter gets the engine's
  binding JSON (the SDK's wrapper turns it into a DurableOrchestrationClient); a ``context`` parameter
  that is not a binding gets a ``func.Context``; each output binding parameter gets a ``func.Out``;
- async functions run on the event loop, sync ones on the worker thread pool;
- queue outputs (``$return`` or ``func.Out``) are sent after the function succeeds, as the host does.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from hpcburst.devhost.catalog import DURABLE_CLIENT, FunctionSpec
from hpcburst.devhost.connections import QueueConnections, resolve_setting

log = logging.getLogger("hpcburst.devhost")


class OutValue(func.Out):  # type: ignore[type-arg]
    """The ``func.Out`` a function sets an output binding through."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        self.value = val

    def get(self) -> Any:
        return self.value


@dataclass
class InvocationContext(func.Context):
    """The ``context`` argument: what the worker tells a function about its invocation."""

    _invocation_id: str
    _function_name: str
    _function_directory: str
    _trace_context: Any = None
    _retry_context: Any = None
    _thread_local_storage: Any = field(default=None)

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return self._trace_context

    @property
    def retry_context(self) -> Any:
        return self._retry_context

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local_storage


@dataclass(frozen=True)
class Outcome:
    value: Any  # what the function returned
    outs: dict[str, OutValue]

    def http_response(self, spec: FunctionSpec) -> Any:
        """The function's http output: ``$return`` unless a named ``func.Out`` carries it."""
        for binding in spec.bindings_of("OUT", "http"):
            if binding["name"] != "$return":
                return self.outs[binding["name"]].get()
        return self.value


def _queue_bodies(value: Any) -> list[str]:
    """The messages a queue output value stands for (str, bytes, QueueMessage or a list of them)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes | bytearray):
        return [bytes(value).decode("utf-8")]
    if isinstance(value, func.QueueMessage):
        return [value.get_body().decode("utf-8")]
    if isinstance(value, Iterable):
        return [body for item in value for body in _queue_bodies(item)]
    raise TypeError(f"a queue output takes str, bytes or func.QueueMessage, not {type(value).__name__}")


def default_thread_count() -> int:
    """PYTHON_THREADPOOL_THREAD_COUNT, else the worker's default for Python 3.9+ (min(32, cpus + 4))."""
    configured = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT")
    return int(configured) if configured else min(32, (os.cpu_count() or 1) + 4)


class Invoker:
    """Runs functions; shared by every trigger so they see the same thread pool and outputs."""

    def __init__(
        self,
        app_dir: str,
        queues: QueueConnections,
        durable_client: Callable[[str | None], str] | None = None,
        threads: int | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.queues = queues
        self.durable_client = durable_client
        self.executor = ThreadPoolExecutor(threads or default_thread_count(), thread_name_prefix="function")

    def _arguments(
        self, spec: FunctionSpec, trigger_value: Any, invocation_id: str, base_url: str | None
    ) -> tuple[dict[str, Any], dict[str, OutValue]]:
        kwargs: dict[str, Any] = {spec.trigger["name"]: trigger_value}
        outs: dict[str, OutValue] = {}
        for binding in spec.bindings:
            name = binding["name"]
            if binding["type"] == DURABLE_CLIENT:
                if self.durable_client is None:
                    raise RuntimeError(
                        "a durable client binding needs the Durable engine, which is not running"
                    )
                kwargs[name] = self.durable_client(base_url)
            elif binding["direction"] == "OUT" and name != "$return":
                outs[name] = kwargs[name] = OutValue()
        names = {b["name"] for b in spec.bindings} | {spec.trigger["name"]}
        if "context" in spec.parameters() and "context" not in names:
            kwargs["context"] = InvocationContext(invocation_id, spec.name, self.app_dir)
        return kwargs, outs

    async def invoke(
        self, spec: FunctionSpec, trigger_value: Any, reason: str, base_url: str | None = None
    ) -> Outcome:
        """Run the function; returns its ``$return`` value and outputs. Raises what the function raised.

        ``base_url`` is where the caller reached the host (durable client URLs point there).
        """
        invocation_id = str(uuid.uuid4())
        log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", spec.name, reason, invocation_id)
        started = time.perf_counter()
        try:
            kwargs, outs = self._arguments(spec, trigger_value, invocation_id, base_url)
            if spec.is_async:
                result = await spec.handler(**kwargs)
            else:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self.executor, functools.partial(spec.handler, **kwargs))
            await self._send_outputs(spec, result, outs)
        except Exception:
            elapsed = (time.perf_counter() - started) * 1000
            log.exception(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)", spec.name, invocation_id, elapsed
            )
            raise
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)", spec.name, invocation_id, elapsed
        )
        return Outcome(result, outs)

    async def _send_outputs(self, spec: FunctionSpec, result: Any, outs: dict[str, OutValue]) -> None:
        for binding in spec.bindings_of("OUT", "queue"):
            name = binding["name"]
            value = result if name == "$return" else outs[name].get()
            bodies = _queue_bodies(value)
            if not bodies:
                continue
            queue_name = resolve_setting(str(binding["queueName"])).lower()
            queue = self.queues.get(binding.get("connection"))
            loop = asyncio.get_running_loop()
            for body in bodies:
                await loop.run_in_executor(self.executor, queue.send, queue_name, body)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
