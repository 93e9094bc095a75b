"""First-class fakes of what housekeeping calls: the broker's policy side, session records, the journal.

They keep the same contracts as the real ones described in docs/soa.md (``NotFound`` for an unknown
session, ``Conflict`` for a stale record write), in memory, and record what was asked of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hpcburst.domain.soa.allocation import SessionDemand
from hpcburst.domain.soa.models import SessionCounts, SessionRecord
from hpcburst.errors import Conflict, NotFound


@dataclass
class FakeBroker:
    counts: dict[str, SessionCounts] = field(default_factory=dict)
    last_calls: dict[str, float] = field(default_factory=dict)
    demand_list: list[SessionDemand] = field(default_factory=list)
    closed: list[tuple[str, bool, str | None]] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)

    def hold(self, session: str, **counts: int) -> None:
        """The broker holds the session (as after ``open``), with these counters."""
        self.counts[session] = SessionCounts(**counts)

    def demands(self, pool: str | None = None) -> list[SessionDemand]:
        return [d for d in self.demand_list if pool is None or d.pool == pool]

    def last_client_call(self, session: str) -> float | None:
        return self.last_calls.get(session)

    def close(self, session: str, purge: bool, reason: str | None = None) -> None:
        if session not in self.counts:
            raise NotFound(f"session {session} is not open in the broker")
        self.closed.append((session, purge, reason))
        if purge or not self.counts[session].answered > self.counts[session].acknowledged:
            del self.counts[session]

    def forget(self, session: str) -> None:
        self.forgotten.append(session)
        self.counts.pop(session, None)

    def view_counts(self, session: str) -> SessionCounts:
        try:
            return self.counts[session]
        except KeyError:
            raise NotFound(f"session {session} is not open in the broker") from None


class MemorySessionRecords:
    """Session records by id; ``racing_writer`` makes the next save lose a compare-and-set race."""

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}
        self.saves = 0
        self.racing_writer = False

    def put(self, record: SessionRecord) -> None:
        self._records[record.id] = record.model_copy(deep=True)

    def get(self, session_id: str) -> SessionRecord:
        try:
            return self._records[session_id].model_copy(deep=True)
        except KeyError:
            raise NotFound(f"session {session_id} not found") from None

    def save(self, record: SessionRecord) -> None:
        if self.racing_writer:
            self.racing_writer = False
            raise Conflict(f"session {record.id} changed since it was read")
        self.saves += 1
        self.put(record)


@dataclass
class FakeJournal:
    docs: dict[str, int] = field(default_factory=dict)  # session -> documents held
    compactions: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)

    def compact(self, session: str) -> int:
        self.compactions.append(session)
        return 0

    def purge(self, session: str) -> None:
        self.purged.append(session)
        self.docs.pop(session, None)
