"""The session orchestration on the real Durable engine: idle closes, close events, durable response expiry,
and a history that stays short however many checks a session lives through.

Its activities run against a scripted housekeeping (what ``SessionHousekeeping`` answers is specified in
``tests/services/soa``); the timers are real, so scripts ask for checks a few milliseconds ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator

import pytest
from orchestration_support import registry_of

from hpcburst.devhost.durable import DurableEngine, DurableRegistry
from hpcburst.services.soa.housekeeping import FinishOutcome, TickOutcome
from orchestrations import soa_activities
from orchestrations.session_orchestrator import CLOSE_EVENT, SESSION_ORCHESTRATOR, instance_id

SOON = 0.02  # seconds ahead a scripted check asks to be woken
FAR = 3600.0
INSTANCE = instance_id("s1")

# The SDK warns when a close event arrives while a timer is pending beside it (it buffers it): expected.
pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")


def registry() -> DurableRegistry:
    return registry_of("session_orchestrator", "soa_activities")


class ScriptedHousekeeping:
    """Answers ticks from a script (``quiet_ticks`` open checks, then ``close_reason``) and records every call."""

    def __init__(
        self, quiet_ticks: int = 1_000_000, close_reason: str | None = None, delay: float = FAR
    ) -> None:
        self.quiet_ticks, self.close_reason, self.delay = quiet_ticks, close_reason, delay
        self.retain_for: float | None = None  # finish keeps responses this long (a durable session)
        self.ticks: list[tuple[str, float | None]] = []
        self.finished: list[tuple[str, bool, str | None]] = []
        self.expired: list[str] = []
        self.ticked = threading.Event()

    def tick(self, session_id: str, now: float, work_idle: float | None = None) -> TickOutcome:
        self.ticks.append((session_id, work_idle))
        self.ticked.set()
        if len(self.ticks) > self.quiet_ticks:
            return TickOutcome(close_reason=self.close_reason, next_check=now)
        return TickOutcome(close_reason=None, next_check=now + self.delay, work_idle=now - 5)

    def finish(self, session_id: str, purge: bool, reason: str | None) -> FinishOutcome:
        self.finished.append((session_id, purge, reason))
        keep = self.retain_for is not None and not purge
        return FinishOutcome(
            expires_at=time.time() + self.retain_for if keep and self.retain_for is not None else None
        )

    def expire(self, session_id: str) -> None:
        self.expired.append(session_id)


@pytest.fixture
def housekeeping():
    scripted = ScriptedHousekeeping()
    soa_activities.use_housekeeping(lambda: scripted)
    yield scripted
    soa_activities.use_housekeeping(None)


@contextlib.asynccontextmanager
async def running_engine(db_path: str) -> AsyncIterator[DurableEngine]:
    engine = DurableEngine(db_path, registry(), max_activities=2, max_orchestrations=2)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def _until_ticked(housekeeping: ScriptedHousekeeping) -> None:
    while not housekeeping.ticked.is_set():
        await asyncio.sleep(0.005)


def _run(durable_db, housekeeping, then=None, history: bool = False) -> dict:
    async def scenario() -> dict:
        async with running_engine(durable_db) as engine:
            await engine.start_new(SESSION_ORCHESTRATOR, INSTANCE, {"session": "s1"})
            if then is not None:
                await _until_ticked(housekeeping)
                await then(engine)
            await engine.wait_for_completion(INSTANCE, 30)
            status = await engine.status(INSTANCE, show_history=history)
            assert status is not None
            return status

    return asyncio.run(scenario())


def test_a_close_event_before_the_next_check_finishes_the_session(durable_db, housekeeping):
    async def close(engine):
        await engine.raise_event(INSTANCE, CLOSE_EVENT, {"purge": False})

    status = _run(durable_db, housekeeping, then=close)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"session": "s1", "state": "Closed", "reason": "closed by the client"}
    assert housekeeping.finished == [("s1", False, "closed by the client")]
    assert len(housekeeping.ticks) == 1  # the far check never fired


def test_a_tick_that_finds_the_session_idle_closes_it_with_that_reason(durable_db, housekeeping):
    housekeeping.quiet_ticks, housekeeping.close_reason = 0, "client idle: no client call for 60 s"
    status = _run(durable_db, housekeeping)
    assert status["output"]["state"] == "Closed"
    assert housekeeping.finished == [("s1", False, "client idle: no client call for 60 s")]


def test_a_session_whose_record_is_gone_ends_without_closing(durable_db, housekeeping):
    housekeeping.tick = lambda session_id, now, work_idle=None: TickOutcome(None, now, done=True)
    status = _run(durable_db, housekeeping)
    assert status["output"] == {"session": "s1", "state": "Gone"}
    assert housekeeping.finished == []


def test_checks_continue_as_new_so_the_history_stays_short(durable_db, housekeeping):
    housekeeping.quiet_ticks, housekeeping.close_reason, housekeeping.delay = 8, "session idle", SOON
    status = _run(durable_db, housekeeping, history=True)
    assert status["output"]["state"] == "Closed"
    assert len(housekeeping.ticks) == 9
    assert status["input"]["generation"] == 8
    assert len(status["historyEvents"]) < 20  # one generation's worth, not nine
    # what one check learnt (since when the session has had no work) reaches the next one
    assert housekeeping.ticks[0][1] is None and all(idle is not None for _, idle in housekeeping.ticks[1:])


def test_a_durable_sessions_kept_responses_expire_after_their_ttl(durable_db, housekeeping):
    housekeeping.quiet_ticks, housekeeping.close_reason, housekeeping.retain_for = 0, "session idle", SOON
    status = _run(durable_db, housekeeping)
    assert status["output"] == {"session": "s1", "state": "Expired", "reason": "session idle"}
    assert housekeeping.expired == ["s1"]


def test_a_close_with_purge_during_retention_expires_the_responses_at_once(durable_db, housekeeping):
    housekeeping.retain_for = FAR

    async def close_then_purge(engine):
        await engine.raise_event(INSTANCE, CLOSE_EVENT, {"purge": False})
        while not housekeeping.finished:
            await asyncio.sleep(0.005)
        await engine.raise_event(INSTANCE, CLOSE_EVENT, {"purge": False})  # again: changes nothing
        await engine.raise_event(INSTANCE, CLOSE_EVENT, {"purge": True})

    status = _run(durable_db, housekeeping, then=close_then_purge)
    assert status["output"]["state"] == "Expired"
    assert housekeeping.finished == [("s1", False, "closed by the client")]
    assert housekeeping.expired == ["s1"]


def test_the_activities_find_the_housekeeping_in_the_composition_root():
    from types import SimpleNamespace

    from hpcburst.services import root

    scripted = ScriptedHousekeeping(quiet_ticks=0, close_reason="client idle")
    wired = SimpleNamespace(soa=SimpleNamespace(housekeeping=scripted), close=lambda: None)
    root.install(wired)  # what the root wires at merge
    try:
        assert soa_activities.soa_tick({"session": "s1", "now": 10.0})["close_reason"] == "client idle"
        assert soa_activities.soa_finish({"session": "s1", "purge": True}) == {"expires_at": None}
    finally:
        root.reset()
    assert scripted.finished == [("s1", True, None)]
