"""When sessions close by themselves (HPC Pack's client and session idle timeouts) and when to look again."""

from __future__ import annotations

import pytest

from hpcburst.domain.soa.lifecycle import (
    MAX_CHECK,
    MIN_CHECK,
    expires_at,
    idle_verdict,
    next_check,
    work_idle_since,
)
from hpcburst.domain.soa.models import SessionRecord, SessionState
from hpcburst.errors import InvalidState

CREATED = 1000.0


def session(durable: bool = False, **fields) -> SessionRecord:
    timeouts = {"client_idle_timeout": 60.0, "session_idle_timeout": 300.0, "response_ttl": 3600.0}
    return SessionRecord(
        id="s1", owner="alice", service="echo", durable=durable, created_at=CREATED, **(timeouts | fields)
    )


# --- interactive: the client idle timeout ---


def test_an_interactive_session_stays_open_while_its_client_calls():
    assert (
        idle_verdict(session(), now=2000.0, last_client_call=1950.0, outstanding=0, attached_clients=1)
        is None
    )


def test_an_interactive_session_closes_when_its_client_made_no_call_for_the_client_idle_timeout():
    reason = idle_verdict(session(), now=2010.0, last_client_call=1950.0, outstanding=5, attached_clients=0)
    assert reason is not None and "client idle" in reason and "60 s" in reason


def test_a_session_no_client_ever_called_counts_from_its_creation():
    assert idle_verdict(session(), CREATED + 59, None, 0, 0) is None
    assert idle_verdict(session(), CREATED + 60, None, 0, 0) is not None


def test_a_session_that_is_not_active_never_gets_an_idle_verdict():
    closing = session(state=SessionState.CLOSING)
    assert idle_verdict(closing, CREATED + 10_000, None, 0, 0) is None


# --- durable: the session idle timeout ---


def test_a_durable_session_outlives_its_clients_while_requests_are_outstanding():
    record = session(durable=True)
    assert idle_verdict(record, CREATED + 10_000, None, outstanding=3, attached_clients=0) is None


def test_a_durable_session_stays_open_while_a_client_is_attached():
    record = session(durable=True)
    assert idle_verdict(record, CREATED + 10_000, CREATED + 9_990, outstanding=0, attached_clients=1) is None


def test_a_durable_session_closes_after_the_session_idle_timeout_without_clients_or_work():
    record = session(durable=True)
    last = CREATED + 100  # the client counts as gone at +160; idle from then on
    assert idle_verdict(record, CREATED + 459, last, 0, 0, work_idle=CREATED + 100) is None
    reason = idle_verdict(record, CREATED + 460, last, 0, 0, work_idle=CREATED + 100)
    assert reason is not None and "session idle" in reason and "300 s" in reason


def test_the_session_idle_time_starts_when_the_last_request_was_answered():
    record = session(durable=True)
    work_done = CREATED + 5_000  # the client left long ago; its requests ran until +5000
    assert idle_verdict(record, work_done + 299, CREATED + 10, 0, 0, work_idle=work_done) is None
    assert idle_verdict(record, work_done + 300, CREATED + 10, 0, 0, work_idle=work_done) is not None


def test_work_idle_since_remembers_when_the_work_ran_out_and_forgets_it_when_work_arrives():
    assert work_idle_since(None, now=50.0, outstanding=0) == 50.0
    assert work_idle_since(50.0, now=80.0, outstanding=0) == 50.0
    assert work_idle_since(50.0, now=90.0, outstanding=1) is None


# --- next_check ---


def test_the_next_check_is_when_an_interactive_client_would_count_as_gone():
    record = session(client_idle_timeout=20.0)
    assert next_check(record, now=CREATED + 40, last_client_call=CREATED + 30) == CREATED + 30 + 20


def test_the_next_check_is_never_later_than_max_check_nor_sooner_than_min_check():
    assert next_check(session(), now=CREATED, last_client_call=CREATED) == CREATED + MAX_CHECK
    assert next_check(session(), now=CREATED + 500, last_client_call=CREATED) == CREATED + 500 + MIN_CHECK


def test_a_durable_session_with_work_is_looked_at_every_max_check():
    record = session(durable=True)
    assert next_check(record, CREATED + 10_000, None, outstanding=1) == CREATED + 10_000 + MAX_CHECK


def test_an_idle_durable_session_is_looked_at_when_its_idle_timeout_runs_out():
    record = session(durable=True, session_idle_timeout=20.0)
    due = next_check(
        record, CREATED + 100, CREATED + 50, outstanding=0, attached_clients=0, work_idle=CREATED
    )
    assert due == CREATED + 50 + 60 + 20


# --- expires_at ---


def test_a_closed_durable_sessions_responses_expire_response_ttl_after_it_closed():
    assert expires_at(session(durable=True, state=SessionState.CLOSED, closed_at=5000.0)) == 8600.0


def test_an_open_session_has_no_expiry():
    with pytest.raises(InvalidState):
        expires_at(session(durable=True))
