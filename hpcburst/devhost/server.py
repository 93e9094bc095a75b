"""The local Functions host: composition and lifecycle (the one place that wires the triggers together).

``async with DevHost(app_dir, port=0, data_dir=...) as host: host.base_url`` runs it in-process;
``hpcburst devhost`` / ``python -m hpcburst.devhost`` run it as a process (see ``runner.py``).
Start order: settings -> import and index the app -> validate every trigger (routes, schedules,
connections) -> Durable engine -> HTTP listener -> queue listeners and timers. Any failure before the
host runs is a ConfigError naming the fix, and whatever had started is stopped again.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from hpcburst.devhost.admin import AdminApi
from hpcburst.devhost.app_loader import LoadedApp, load_app
from hpcburst.devhost.auth import Keys, load_keys
from hpcburst.devhost.bindings import Invoker
from hpcburst.devhost.catalog import QUEUE, TIMER, FunctionSpec, describe, index_functions
from hpcburst.devhost.connections import QueueConnections, resolve_setting
from hpcburst.devhost.datadir import DataDirLock
from hpcburst.devhost.durable_bridge import WEBHOOK_ROUTE, build_engine, close_client_session
from hpcburst.devhost.hostconfig import HostConfig, LocalSettings
from hpcburst.devhost.http_trigger import HttpTriggers
from hpcburst.devhost.ncrontab import parse_schedule
from hpcburst.devhost.queue_trigger import PROCESSING_LEASE, QueueListener
from hpcburst.devhost.timer_trigger import ScheduleMonitor, TimerRunner, wants_monitor
from hpcburst.errors import ConfigError

log = logging.getLogger("hpcburst.devhost")
DATA_SUBDIR = Path(".hpcburst") / "devhost"
MAX_BODY = 100 * 1024 * 1024  # the Functions host's default request size limit
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DevHost:
    def __init__(
        self,
        app_dir: str | Path = ".",
        port: int | None = 7071,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        queue_lease_seconds: float = PROCESSING_LEASE,
        shutdown_grace: float = 10.0,
        out: Callable[[str], None] = print,
        apply_log_level: bool = False,
        enable_auth: bool = False,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.data_dir = Path(data_dir).resolve() if data_dir else self.app_dir / DATA_SUBDIR
        self.requested_port = port
        self.host = host
        self.queue_lease = queue_lease_seconds
        self.grace = shutdown_grace
        self.out = out
        self.apply_log_level = apply_log_level  # a process sets host.json's level on its root logger
        # As `func start`: function and admin auth levels are checked only with --enable-auth. The app's own
        # authentication (bearer tokens) is separate and always on.
        self.enable_auth = enable_auth
        self.port: int | None = None
        self.specs: list[FunctionSpec] = []
        self.engine: Any = None
        self._engine_started = False
        self.keys: Keys | None = None
        self._applied_settings: dict[str, str] = {}
        self._loaded: LoadedApp | None = None
        self._queues = QueueConnections()
        self.invoker: Invoker | None = None
        self._runner: web.AppRunner | None = None
        self._listeners: list[QueueListener] = []
        self._timers: list[TimerRunner] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = DataDirLock(self.data_dir)
        self._ready = asyncio.Event()

    @property
    def base_url(self) -> str:
        """Where this process reaches its own server (durable clients outside HTTP calls use it)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    # --- lifecycle ---
    async def __aenter__(self) -> DevHost:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = LocalSettings.load(self.app_dir)
        self._apply_settings(settings)
        config = HostConfig.load(self.app_dir)
        if self.apply_log_level:
            logging.getLogger().setLevel(config.log_level)
        self._lock.acquire()
        self._loaded = load_app(self.app_dir)
        self.specs = index_functions(self._loaded.functions)
        self.keys = load_keys(self.data_dir)
        self.engine = build_engine(self.specs, self.data_dir, config.durable)
        self.invoker = Invoker(str(self.app_dir), self._queues, self._client_binding if self.engine else None)
        http = HttpTriggers(self.specs, self.invoker, self.keys, config.route_prefix, self.enable_auth)
        self._listeners = self._queue_listeners(config)
        self._timers = self._timer_runners()
        port = self.requested_port if self.requested_port is not None else settings.local_http_port or 7071
        # Listen first (a busy port fails before the engine touches its database); requests wait for _ready.
        await self._serve(http, port)
        if self.engine is not None:
            await self.engine.start()
            self._engine_started = True
        self._ready.set()
        for listener in self._listeners:
            self._spawn(listener.run())
        for timer in self._timers:
            self._spawn(timer.run())
        self._print_listing(config.route_prefix)

    def _apply_settings(self, settings: LocalSettings) -> None:
        applied, skipped = settings.apply(os.environ)
        self._applied_settings = {name: os.environ[name] for name in applied}
        for name in skipped:
            log.warning(
                "Skipping '%s' from local settings as it's already defined in current environment variables.",
                name,
            )

    def _client_binding(self, base_url: str | None) -> str:
        return str(self.engine.client_binding(base_url or self.base_url))

    def _queue_listeners(self, config: HostConfig) -> list[QueueListener]:
        assert self.invoker is not None
        listeners = []
        uses_queues = any(s.trigger_type == QUEUE or s.bindings_of("OUT", "queue") for s in self.specs)
        if uses_queues and config.queues.message_encoding != "base64":
            raise ConfigError(
                f"host.json extensions.queues.messageEncoding={config.queues.message_encoding!r}: the hpcburst "
                "queue adapter writes base64 messages; remove the setting or set it to 'base64'"
            )
        for spec in self.specs:
            for binding in spec.bindings_of("OUT", "queue"):
                self._queues.check(binding.get("connection"))
            if spec.trigger_type != QUEUE:
                continue
            queue_name = resolve_setting(str(spec.trigger["queueName"])).lower()
            queue = self._queues.get(spec.trigger.get("connection"))
            listeners.append(
                QueueListener(
                    spec, queue, queue_name, config.queues, self.invoker, lease_seconds=self.queue_lease
                )
            )
        return listeners

    def _timer_runners(self) -> list[TimerRunner]:
        assert self.invoker is not None
        runners = []
        now = datetime.now(UTC)
        for spec in self.specs:
            if spec.trigger_type != TIMER:
                continue
            schedule = parse_schedule(resolve_setting(str(spec.trigger["schedule"])), spec.name)
            use_monitor = spec.trigger.get("useMonitor")
            monitor = None
            if wants_monitor(use_monitor, schedule, now):
                monitor = ScheduleMonitor(self.data_dir / "timers" / f"{spec.name}.json")
            runners.append(TimerRunner(spec, schedule, self.invoker, monitor))
        return runners

    async def _serve(self, http: HttpTriggers, port: int) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        AdminApi(self).mount(app)
        if self.engine is not None:
            app.router.add_route("*", WEBHOOK_ROUTE, self._when_ready(self.engine.handle_http))
        # `[\s\S]`, not `.`: a path may hold a (percent-encoded) newline, and must still reach the app.
        app.router.add_route("*", "/{tail:[\\s\\S]*}", self._when_ready(http.handle))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=self.grace)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port)
        try:
            await site.start()
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} is in use: stop the process listening there or pass --port with a free port"
                ) from None
            raise ConfigError(f"cannot listen on {self.host}:{port}: {err.strerror or err}") from None
        server = site._server  # aiohttp keeps the bound sockets here; the only way to learn port 0's pick
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    def _when_ready(self, handler: Handler) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            await self._ready.wait()
            return await handler(request)

        return handle

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        task.add_done_callback(_report_crash)
        self._tasks.append(task)

    def _print_listing(self, route_prefix: str) -> None:
        shown = f"http://localhost:{self.port}"
        lines = ["", "Functions:", ""]
        for spec in self.specs:
            lines += [f"\t{describe(spec, shown, route_prefix)}", ""]
        if self.keys is not None and self.enable_auth:
            lines.append(f"Function keys: {self.keys.path} (or set HPCBURST_DEVHOST_FUNCTION_KEY)")
        lines.append(f"Data: {self.data_dir}")
        lines.append(f"Host started: listening on http://{self.host}:{self.port}")
        self.out("\n".join(lines))

    async def stop(self) -> None:
        """Stop fetching work, let running functions finish (bounded), then close everything."""
        for timer in self._timers:
            timer.stop()
        await asyncio.gather(*(listener.stop(self.grace) for listener in self._listeners))
        if self._tasks:  # loops end by themselves once told (a poll in flight hands its messages back)
            await asyncio.wait(self._tasks, timeout=self.grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.engine is not None:
            if self._engine_started:
                await self.engine.stop()
            self.engine = None
            self._engine_started = False
        await close_client_session()
        if self.invoker is not None:
            self.invoker.close()
            self.invoker = None
        self._queues.close()
        if self._loaded is not None:
            self._loaded.unload()
            self._loaded = None
        self._lock.release()
        self._ready = asyncio.Event()
        for name, value in self._applied_settings.items():
            if os.environ.get(name) == value:
                del os.environ[name]
        self._applied_settings = {}


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a trigger loop stopped", exc_info=task.exception())
