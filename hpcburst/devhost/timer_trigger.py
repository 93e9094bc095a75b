"""Timer triggers: fire a function on its schedule, as the host's TimerListener does.

- invocations of one timer never overlap: the next occurrence is computed after the run ends;
- ``run_on_startup`` fires once when the host starts;
- the schedule monitor (on for schedules of a minute or more unless ``use_monitor`` is false) keeps
  ``Last``/``Next`` in ``<data dir>/timers/<function>.json``; an occurrence missed while the host was
  down fires at start with ``past_due=True``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.functions.timer import TimerRequest

from hpcburst.devhost.bindings import Invoker
from hpcburst.devhost.catalog import FunctionSpec
from hpcburst.devhost.ncrontab import Schedule

log = logging.getLogger("hpcburst.devhost")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class ScheduleMonitor:
    """Last/Next of one timer, persisted so a restart can tell that an occurrence was missed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, str] | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) and "Next" in data else None

    def write(self, last: datetime, next_: datetime, now: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"Last": _iso(last), "Next": _iso(next_), "LastUpdated": _iso(now)}))
        os.replace(tmp, self.path)


class TimerRunner:
    """Runs one timer function. ``fire()`` is one invocation; ``run()`` loops until ``stop()``."""

    def __init__(
        self,
        spec: FunctionSpec,
        schedule: Schedule,
        invoker: Invoker,
        monitor: ScheduleMonitor | None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.spec = spec
        self.schedule = schedule
        self.invoker = invoker
        self.monitor = monitor
        self.now = now
        self.last: datetime | None = None
        self._stopping = asyncio.Event()

    def request(self, past_due: bool, next_: datetime) -> TimerRequest:
        status = {
            "Last": _iso(self.last) if self.last else None,
            "Next": _iso(next_),
            "LastUpdated": _iso(self.now()),
        }
        return TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})

    async def fire(self, past_due: bool = False, reason: str = "Timer fired") -> None:
        now = self.now()
        request = self.request(past_due, self.schedule.next_after(now))
        try:
            await self.invoker.invoke(self.spec, request, f"{reason} at {_iso(now)}")
        except Exception:  # noqa: BLE001 - logged by the invoker; a failing timer keeps its schedule
            pass
        self.last = now
        if self.monitor is not None:
            try:
                self.monitor.write(now, self.schedule.next_after(self.now()), self.now())
            except OSError as err:
                log.warning("timer %r: cannot record its schedule status: %s", self.spec.name, err)

    def _missed(self) -> bool:
        if self.monitor is None:
            return False
        status = self.monitor.read()
        if status is None:
            return False
        try:
            return datetime.fromisoformat(status["Next"]) < self.now()
        except (TypeError, ValueError):
            return False

    async def run(self) -> None:
        if self._missed():
            await self.fire(past_due=True, reason="Timer fired (past due)")
        elif self.spec.trigger.get("runOnStartup"):
            await self.fire(reason="Timer fired on startup")
        elif self.monitor is not None and self.monitor.read() is None:
            now = self.now()
            self.monitor.write(now, self.schedule.next_after(now), now)
        while not self._stopping.is_set():
            due = self.schedule.next_after(self.now())
            wait = max(0.0, (due - self.now()).total_seconds())
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                return
            except TimeoutError:
                pass
            # The clock can run a little early; never fire before the occurrence.
            while self.now() < due:
                await asyncio.sleep((due - self.now()).total_seconds() + 0.001)
            await self.fire()

    def stop(self) -> None:
        self._stopping.set()


def wants_monitor(use_monitor: bool | None, schedule: Schedule, now: datetime) -> bool:
    """The host's default: monitor schedules that recur every minute or less often."""
    if use_monitor is not None:
        return use_monitor
    return schedule.typical_interval(now) >= timedelta(minutes=1)
