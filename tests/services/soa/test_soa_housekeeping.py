"""A session's housekeeping: idle closes, the record's last client call, close and purge, response expiry."""

from __future__ import annotations

import pytest
from housekeeping_fakes import FakeBroker, FakeJournal, MemorySessionRecords

from hpcburst import constants as c
from hpcburst.domain.soa.allocation import SessionDemand
from hpcburst.domain.soa.lifecycle import MAX_CHECK
from hpcburst.domain.soa.models import SessionRecord, SessionState
from hpcburst.domain.states import Priority
from hpcburst.services.soa.data import SessionData
from hpcburst.services.soa.housekeeping import SessionHousekeeping
from hpcburst.storage.blob.memory import MemoryBlobStore

CREATED = 1_700_000_000.0
CLOSE_TIME = CREATED + 5_000


class World:
    def __init__(self) -> None:
        self.broker = FakeBroker()
        self.sessions = MemorySessionRecords()
        self.journal = FakeJournal()
        self.blobs = MemoryBlobStore()
        self.blobs.ensure_container(c.BLOB_DATA)
        self.data = SessionData(self.blobs)
        self.housekeeping = SessionHousekeeping(
            self.broker,
            self.sessions,
            self.journal,
            self.blobs,
            clock=lambda: CLOSE_TIME,
            forget_data=self.data.forget,
        )

    def open(self, durable: bool = False, **fields) -> SessionRecord:
        timeouts = {"client_idle_timeout": 60.0, "session_idle_timeout": 300.0, "response_ttl": 3600.0}
        record = SessionRecord(
            id="s1", owner="alice", service="echo", durable=durable, created_at=CREATED, **(timeouts | fields)
        )
        self.sessions.put(record)
        self.broker.hold("s1")
        return record

    def publish(self, name: str) -> None:
        self.blobs.put(c.BLOB_DATA, f"sessions/s1/{name}", b"data")

    def data_names(self) -> list[str]:
        return [info.name for info in self.blobs.list(c.BLOB_DATA)]


@pytest.fixture
def world() -> World:
    return World()


# --- tick ---


def test_a_busy_interactive_session_stays_open_and_is_looked_at_again_soon(world):
    world.open()
    world.broker.last_calls["s1"] = CREATED + 100
    outcome = world.housekeeping.tick("s1", now=CREATED + 110)
    assert outcome.close_reason is None and not outcome.done
    assert outcome.next_check == CREATED + 110 + MAX_CHECK


def test_a_tick_closes_an_interactive_session_whose_client_went_idle(world):
    world.open()
    world.broker.last_calls["s1"] = CREATED + 100
    outcome = world.housekeeping.tick("s1", now=CREATED + 161)
    assert outcome.close_reason is not None and "client idle" in outcome.close_reason


def test_a_tick_saves_the_last_client_call_into_the_record_once(world):
    world.open()
    world.broker.last_calls["s1"] = CREATED + 100
    world.housekeeping.tick("s1", now=CREATED + 110)
    world.housekeeping.tick("s1", now=CREATED + 120)  # nothing new: no second write
    assert world.sessions.get("s1").last_client_call == CREATED + 100
    assert world.sessions.saves == 1


def test_a_record_written_by_someone_else_meanwhile_is_not_overwritten_by_the_tick(world):
    world.open()
    world.broker.last_calls["s1"] = CREATED + 100
    world.sessions.racing_writer = True
    outcome = world.housekeeping.tick("s1", now=CREATED + 110)
    assert outcome.close_reason is None and world.sessions.saves == 0


def test_the_last_client_call_in_the_record_counts_after_a_broker_restart(world):
    world.open(last_client_call=CREATED + 500)  # the restarted broker has seen no call yet
    assert world.housekeeping.tick("s1", now=CREATED + 530).close_reason is None


def test_a_durable_session_closes_after_its_work_ran_out_and_the_idle_timeout_passed(world):
    world.open(durable=True)
    world.broker.hold("s1", submitted=10, pending=4, in_flight=2)
    busy = world.housekeeping.tick("s1", now=CREATED + 1000)
    assert busy.close_reason is None and busy.work_idle is None
    world.broker.hold("s1", submitted=10, answered=10)
    quiet = world.housekeeping.tick("s1", now=CREATED + 1010, work_idle=busy.work_idle)
    assert quiet.close_reason is None and quiet.work_idle == CREATED + 1010
    assert quiet.next_check == CREATED + 1010 + MAX_CHECK  # capped; due at +1310
    late = world.housekeeping.tick("s1", now=CREATED + 1310, work_idle=quiet.work_idle)
    assert late.close_reason is not None and "session idle" in late.close_reason


def test_a_tick_compacts_a_durable_sessions_journal(world):
    world.open(durable=True)
    world.housekeeping.tick("s1", now=CREATED + 10)
    assert world.journal.compactions == ["s1"]


def test_a_tick_reports_the_sessions_hosts_and_what_its_backlog_wants(world):
    world.open()
    world.broker.demand_list = [
        SessionDemand("s1", "default", Priority.NORMAL, CREATED, 1, None, backlog=40, per_host=4, units=3)
    ]
    outcome = world.housekeeping.tick("s1", now=CREATED + 10)
    assert (outcome.units, outcome.wanted) == (3, 10)


def test_a_session_closed_by_someone_else_is_finished_by_the_next_tick(world):
    world.open(state=SessionState.CLOSING, reason="closed by alice")
    assert world.housekeeping.tick("s1", now=CREATED + 10).close_reason == "closed by alice"


def test_a_session_whose_record_is_gone_is_done(world):
    assert world.housekeeping.tick("nope", now=CREATED).done


# --- finish ---


def test_finishing_an_interactive_session_closes_it_in_the_broker_and_the_record(world):
    world.open()
    outcome = world.housekeeping.finish("s1", purge=False, reason="client idle")
    assert outcome.expires_at is None
    assert world.broker.closed == [("s1", False, "client idle")]
    record = world.sessions.get("s1")
    assert (record.state, record.closed_at, record.reason) == (SessionState.CLOSED, CLOSE_TIME, "client idle")
    assert world.journal.purged == []  # interactive sessions have no journal


def test_a_durable_session_closed_without_purge_keeps_unacknowledged_responses_for_the_ttl(world):
    world.open(durable=True)
    world.broker.hold("s1", submitted=5, answered=5, acknowledged=2)
    outcome = world.housekeeping.finish("s1", purge=False, reason=None)
    assert outcome.expires_at == CLOSE_TIME + 3600
    assert world.journal.purged == []


def test_a_durable_session_with_every_response_acknowledged_is_purged_at_once(world):
    world.open(durable=True)
    world.broker.hold("s1", submitted=5, answered=5, acknowledged=5)
    assert world.housekeeping.finish("s1", purge=False, reason=None).expires_at is None
    assert world.journal.purged == ["s1"]


def test_close_with_purge_drops_a_durable_sessions_responses(world):
    world.open(durable=True)
    world.broker.hold("s1", submitted=5, answered=5)
    assert world.housekeeping.finish("s1", purge=True, reason="closed by alice").expires_at is None
    assert world.broker.closed == [("s1", True, "closed by alice")] and world.journal.purged == ["s1"]


def test_a_durable_session_the_broker_no_longer_holds_keeps_its_responses_to_be_safe(world):
    world.open(durable=True)
    del world.broker.counts["s1"]  # e.g. a restarted broker that has not reloaded it
    assert world.housekeeping.finish("s1", purge=False, reason=None).expires_at == CLOSE_TIME + 3600
    assert world.journal.purged == []


def test_finishing_deletes_common_data_except_what_is_kept(world):
    world.open(data={"model.bin": True, "table.csv": False})
    for name in ("model.bin", "table.csv", "partial.tmp"):
        world.publish(name)
    world.blobs.put(c.BLOB_DATA, "sessions/s10/other.csv", b"another session's")
    world.housekeeping.finish("s1", purge=False, reason=None)
    assert world.data_names() == ["sessions/s1/model.bin", "sessions/s10/other.csv"]


def test_finishing_drops_the_published_names_and_read_grants_the_process_kept(world):
    world.open()
    world.data.publish("s1", "table.csv")
    assert set(world.data.read_urls(["s1"])["s1"]) == {"table.csv"}
    world.housekeeping.finish("s1", purge=False, reason=None)
    assert world.data.read_urls(["s1"]) == {}


def test_finishing_twice_is_harmless_and_keeps_the_first_close(world):
    world.open(durable=True)
    world.broker.hold("s1", submitted=1, answered=1)
    first = world.housekeeping.finish("s1", purge=False, reason="first")
    again = world.housekeeping.finish("s1", purge=False, reason="second")
    assert first.expires_at == again.expires_at
    assert world.sessions.get("s1").reason == "first"


def test_a_faulted_session_stays_faulted_when_finished(world):
    world.open(state=SessionState.FAULTED, reason="the broker restarted")
    world.housekeeping.finish("s1", purge=False, reason="session is Faulted")
    record = world.sessions.get("s1")
    assert (record.state, record.reason) == (SessionState.FAULTED, "the broker restarted")


# --- expire ---


def test_expiry_purges_the_remaining_responses(world):
    world.open(durable=True)
    world.broker.hold("s1", submitted=3, answered=3)
    world.housekeeping.finish("s1", purge=False, reason=None)
    world.housekeeping.expire("s1")
    assert world.journal.purged == ["s1"]
    assert world.broker.closed[-1] == ("s1", True, "response TTL passed")
    assert "s1" not in world.broker.counts
