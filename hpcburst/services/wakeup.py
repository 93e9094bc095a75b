"""A process-local "there may be new work" signal for long-polling lease calls.

Dispatch, retries, requeues and cancels call ``notify``; a waiting lease call wakes at once instead
of at its next periodic store re-check (the fallback when the work came from another instance).
``notify`` may be called from any thread; ``wait`` runs on an asyncio loop. A generation counter
makes a notify between "looked, found nothing" and "started waiting" count (no lost wake-ups).
"""

from __future__ import annotations

import asyncio
import threading


class WorkSignal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        with self._lock:
            self._generation += 1
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed: its waiter is gone
                pass

    async def wait(self, seen: int, timeout: float) -> bool:
        """Wait until a notify after generation ``seen`` (True) or ``timeout`` seconds pass (False)."""
        event = asyncio.Event()
        with self._lock:
            if self._generation != seen:
                return True
            entry = (asyncio.get_running_loop(), event)
            self._waiters.append(entry)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                if entry in self._waiters:
                    self._waiters.remove(entry)
