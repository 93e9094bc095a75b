"""An in-memory stand-in of the SOA journal for broker tests: the interface of
``hpcburst.services.soa.journal.Journal`` from docs/soa.md on dicts, recording the order of the writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hpcburst.domain.soa.protocol import RequestItem, StoredResponse


@dataclass
class Recovered:
    requests: list[tuple[str, RequestItem]]
    responses: list[StoredResponse]
    acknowledged: set[tuple[str, str]]


class MemoryJournal:
    """The journal's interface on dicts, recording the order of writes the broker made."""

    def __init__(self) -> None:
        self.requests: dict[str, list[tuple[str, RequestItem]]] = {}
        self.responses: dict[str, list[StoredResponse]] = {}
        self.acked: dict[str, set[tuple[str, str]]] = {}
        self.writes: list[str] = []

    def append_requests(self, session: str, client_id: str, items: Sequence[RequestItem]) -> None:
        self.requests.setdefault(session, []).extend((client_id, i) for i in items)
        self.writes.append(f"q:{len(items)}")

    def append_responses(self, session: str, items: Sequence[StoredResponse]) -> None:
        self.responses.setdefault(session, []).extend(items)
        self.writes.append(f"r:{len(items)}")

    def acknowledge(self, session: str, client_id: str, ids: Sequence[str]) -> None:
        self.acked.setdefault(session, set()).update((client_id, i) for i in ids)
        self.writes.append(f"a:{len(ids)}")

    def load(self, session: str) -> Recovered:
        acked = self.acked.get(session, set())
        first: dict[tuple[str, str], StoredResponse] = {}
        for r in self.responses.get(session, []):
            first.setdefault((r.client_id, r.id), r)
        pending = [(c, i) for c, i in self.requests.get(session, []) if (c, i.id) not in first]
        unacked = [r for k, r in first.items() if k not in acked]
        return Recovered(requests=pending, responses=unacked, acknowledged=set(acked))

    def compact(self, session: str) -> int:
        return 0

    def purge(self, session: str) -> None:
        self.requests.pop(session, None)
        self.responses.pop(session, None)
        self.acked.pop(session, None)
        self.writes.append("purge")
