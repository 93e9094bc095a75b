"""A session's housekeeping, one step per call of its orchestration: idle checks, close, purge, expiry.

The orchestration calls ``tick`` every few seconds (``next_check``), ``finish`` once when the session closes,
and ``expire`` when a closed durable session's responses have outlived ``response_ttl``. Nothing here runs
per request: a tick reads the record and the broker's counters, and writes the record at most once.

Collaborators are injected as the small ``Protocol``s below (the broker, the session records, the journal,
the blob store), so this module depends only on what it calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hpcburst import constants as c
from hpcburst.domain.soa import lifecycle
from hpcburst.domain.soa.allocation import SessionDemand, wanted_units
from hpcburst.domain.soa.models import SessionCounts, SessionRecord, SessionState
from hpcburst.errors import Conflict, NotFound
from hpcburst.services.soa.data import common_data_prefix
from hpcburst.storage.blob.port import BlobStore

EXPIRED = "response TTL passed"


class SessionBroker(Protocol):
    def demands(self, pool: str | None = None) -> list[SessionDemand]: ...
    def last_client_call(self, session: str) -> float | None: ...
    def close(self, session: str, purge: bool, reason: str | None = None) -> None: ...
    def view_counts(self, session: str) -> SessionCounts: ...
    def forget(self, session: str) -> None: ...


class SessionRecords(Protocol):
    def get(self, session_id: str) -> SessionRecord: ...
    def save(self, record: SessionRecord) -> object: ...


class SessionJournal(Protocol):
    def purge(self, session: str) -> None: ...
    def compact(self, session: str) -> int: ...


@dataclass(frozen=True)
class TickOutcome:
    close_reason: str | None  # close the session now, for this reason
    next_check: float  # epoch seconds: tick again then (unless a close event comes first)
    done: bool = False  # the session record is gone: nothing left to look after
    work_idle: float | None = None  # since when nothing was outstanding; hand it to the next tick
    units: int = 0  # hosts the session holds now (for the orchestration's status)
    wanted: int = 0  # hosts its backlog justifies


@dataclass(frozen=True)
class FinishOutcome:
    expires_at: (
        float | None
    )  # when to purge a closed durable session's remaining responses (None: nothing kept)


class SessionHousekeeping:
    def __init__(
        self,
        broker: SessionBroker,
        sessions: SessionRecords,
        journal: SessionJournal,
        blobs: BlobStore | None,
        clock: Callable[[], float] = time.time,
        forget_data: Callable[[str], None] = lambda session: None,
    ) -> None:
        self.broker = broker
        self.forget_data = forget_data  # drops what the process keeps of an ended session's published names
        self.sessions = sessions
        self.journal = journal
        self.blobs = blobs
        self.clock = clock

    def tick(self, session_id: str, now: float, work_idle: float | None = None) -> TickOutcome:
        """Look at an open session once: whether it closes now (idle, or asked to close by someone else),
        when to look again; save the last client call into its record and compact a durable journal."""
        record = self._record(session_id)
        if record is None:
            return TickOutcome(close_reason=None, next_check=now, done=True)
        if record.state is not SessionState.ACTIVE:  # closing, or ended by the broker (faulted)
            return TickOutcome(close_reason=record.reason or f"session is {record.state}", next_check=now)
        last = _latest(self.broker.last_client_call(session_id), record.last_client_call)
        counts = self._counts(session_id)
        outstanding = counts.pending + counts.in_flight
        # The broker counts calls, not clients: a client is attached while its last call is not idle.
        attached = int(last is not None and now < lifecycle.client_gone_at(record, last))
        work_idle = lifecycle.work_idle_since(work_idle, now, outstanding)
        rule_inputs = (record, now, last, outstanding, attached, work_idle)
        reason = lifecycle.idle_verdict(*rule_inputs)
        if last != record.last_client_call:
            self._save_quietly(record.model_copy(update={"last_client_call": last}))
        if record.durable:
            self.journal.compact(session_id)
        units, wanted = self._allocation(record)
        return TickOutcome(reason, lifecycle.next_check(*rule_inputs), False, work_idle, units, wanted)

    def finish(self, session_id: str, purge: bool, reason: str | None) -> FinishOutcome:
        """Close the session (idempotent): the broker stops its hosts and drops what it need not keep, common
        data not marked keep is deleted, the record says Closed (a Faulted one stays Faulted). A session closed
        without purge keeps its unacknowledged responses until ``expires_at`` (an interactive one only while this
        broker holds them: they were in its memory)."""
        record = self._record(session_id)
        if record is None:
            return FinishOutcome(expires_at=None)
        counts = self._known_counts(session_id)  # before the close: a purging broker forgets the session
        self._close_broker(session_id, purge, reason)
        # Unknown counts (the broker does not hold the session, e.g. after a restart): keep them, to be safe.
        unacknowledged = counts is None or counts.answered > counts.acknowledged
        keeps_responses = not purge and unacknowledged and (record.durable or counts is not None)
        if record.durable and not keeps_responses:
            self.journal.purge(session_id)
        self._delete_common_data(record)
        self.forget_data(session_id)
        if record.state is not SessionState.FAULTED:
            record.state = SessionState.CLOSED
        record.closed_at = record.closed_at if record.closed_at is not None else self.clock()
        record.reason = record.reason or reason
        self.sessions.save(record)
        if not keeps_responses:  # nothing left to hand out: the broker's memory of it can go
            self.broker.forget(session_id)
        return FinishOutcome(expires_at=lifecycle.expires_at(record) if keeps_responses else None)

    def expire(self, session_id: str) -> None:
        """Purge a closed durable session's remaining responses (their TTL passed, or a purge was asked)."""
        self._close_broker(session_id, True, EXPIRED)
        self.journal.purge(session_id)
        self.broker.forget(session_id)

    # --- steps ---

    def _record(self, session_id: str) -> SessionRecord | None:
        try:
            return self.sessions.get(session_id)
        except NotFound:
            return None

    def _known_counts(self, session_id: str) -> SessionCounts | None:
        try:
            return self.broker.view_counts(session_id)
        except NotFound:  # the broker does not hold it (closed, or not reloaded yet)
            return None

    def _counts(self, session_id: str) -> SessionCounts:
        return self._known_counts(session_id) or SessionCounts()  # unknown to the broker: nothing outstanding

    def _close_broker(self, session_id: str, purge: bool, reason: str | None) -> None:
        try:
            self.broker.close(session_id, purge, reason)
        except NotFound:  # already gone from the broker (a second finish, or a restart): nothing to stop
            pass

    def _save_quietly(self, record: SessionRecord) -> None:
        try:
            self.sessions.save(record)
        except Conflict:  # someone else (a close) wrote the record since we read it: the next tick saves it
            pass

    def _allocation(self, record: SessionRecord) -> tuple[int, int]:
        mine = [d for d in self.broker.demands(record.pool) if d.session == record.id]
        return (mine[0].units, wanted_units(mine[0])) if mine else (0, 0)

    def _delete_common_data(self, record: SessionRecord) -> None:
        """Delete every blob under ``sessions/<id>/`` in the data container except those marked keep
        (listing the prefix also catches uploads the record never got to name)."""
        if self.blobs is None:
            return
        prefix = common_data_prefix(record.id)
        try:
            names = [info.name for info in self.blobs.list(c.BLOB_DATA, prefix)]
        except NotFound:  # no data container yet: nothing was ever published
            return
        for name in names:
            if not record.data.get(name.removeprefix(prefix), False):
                try:
                    self.blobs.delete(c.BLOB_DATA, name)
                except NotFound:  # deleted by an earlier, interrupted finish
                    pass


def _latest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None
