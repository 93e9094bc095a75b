"""Run a DevHost on its own event loop in a background thread (for synchronous callers such as tests).

    with run_in_thread(app_dir, data_dir=tmp / "data") as host:
        httpx.get(host.base_url + "/api/hello")

Start errors (ConfigError ...) are raised in the caller's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hpcburst.devhost.server import DevHost

T = TypeVar("T")


class ThreadedHost:
    def __init__(self, host: DevHost) -> None:
        self.host = host
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="devhost", daemon=True)

    @property
    def base_url(self) -> str:
        return self.host.base_url

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run a coroutine on the host's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> ThreadedHost:
        self._thread.start()
        try:
            self.call(self.host.start())
        except BaseException:
            self._close_loop()
            raise
        return self

    def stop(self) -> None:
        """Stop the host and its loop (a second call does nothing)."""
        if self.loop.is_closed():
            return
        try:
            self.call(self.host.stop())
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


@contextmanager
def run_in_thread(app_dir: str | Path, **kwargs: Any) -> Iterator[ThreadedHost]:
    """Start a DevHost (``port=0`` unless given) in a thread; stop it on exit."""
    kwargs.setdefault("port", 0)
    kwargs.setdefault("out", lambda text: None)
    running = ThreadedHost(DevHost(app_dir, **kwargs)).start()
    try:
        yield running
    finally:
        running.stop()
