"""One session's requests and responses in the broker's memory (not thread-safe: the broker holds its lock).

A request is a ``Call`` from the moment it is accepted until its first response is stored; it waits in
``pending`` (FIFO, retries first) or sits in flight on one host. A stored response waits, per client, until
that client acknowledges it; each is handed out once per attachment (``restart`` hands out every unacked
one again). Keys stay known after their response is acknowledged, so a resend is still a duplicate.
Pending calls answered elsewhere (a late first answer of a retried call) are skipped lazily, so nothing
here scans a queue per response.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence

from hpcburst.domain.soa.models import SessionCounts
from hpcburst.domain.soa.protocol import Fault, RequestItem, StoredResponse

Key = tuple[str, str]  # (client_id, request id)


class Call:
    __slots__ = ("attempt", "client_id", "done", "host", "item", "node", "sent_at")

    def __init__(self, client_id: str, item: RequestItem, attempt: int = 0) -> None:
        self.client_id, self.item, self.attempt = client_id, item, attempt
        self.host: str | None = None  # where it runs now (None: pending)
        self.node: str | None = None  # where the last attempt ran
        self.sent_at = 0.0
        self.done = False

    @property
    def key(self) -> Key:
        return self.client_id, self.item.id


class SessionBook:
    def __init__(self) -> None:
        self.pending: deque[Call] = deque()
        self.calls: dict[Key, Call] = {}  # accepted and not answered
        self.in_flight: dict[str, dict[Key, Call]] = {}  # host -> its calls
        self.stored: dict[str, dict[str, StoredResponse]] = {}  # client -> id -> unacknowledged response
        self.unsent: dict[str, deque[str]] = {}  # client -> ids not handed out in this attachment
        self.acknowledged: set[Key] = set()
        self.open_by_client: Counter[str] = Counter()  # calls with no stored response yet
        self.flying = 0
        self.submitted = self.answered = self.faulted = self.acked = 0

    # --- requests ---
    def new_items(self, client_id: str, items: Iterable[RequestItem]) -> list[RequestItem]:
        """The items whose key the session does not have yet (in order, a repeat within the batch dropped)."""
        fresh: dict[str, RequestItem] = {}
        stored = self.stored.get(client_id, {})
        for item in items:
            key = (client_id, item.id)
            if item.id in fresh or key in self.calls or item.id in stored or key in self.acknowledged:
                continue
            fresh[item.id] = item
        return list(fresh.values())

    def add(self, client_id: str, items: Sequence[RequestItem]) -> None:
        for item in items:
            call = Call(client_id, item)
            self.calls[call.key] = call
            self.pending.append(call)
        self.open_by_client[client_id] += len(items)
        self.submitted += len(items)

    def requeue(self, call: Call) -> None:
        self._land(call)
        self.pending.appendleft(call)  # a retry goes first: its client has waited longest

    def take(self, host: str, node: str, count: int, now: float) -> list[Call]:
        """Up to ``count`` pending calls, now in flight on ``host`` (attempt counted)."""
        taken: list[Call] = []
        flying = self.in_flight.setdefault(host, {})
        while self.pending and len(taken) < count:
            call = self.pending.popleft()
            if call.done or call.host is not None:
                continue
            call.host, call.node, call.sent_at = host, node, now
            call.attempt += 1
            flying[call.key] = call
            taken.append(call)
        self.flying += len(taken)
        return taken

    def host_gone(self, host: str) -> list[Call]:
        """The calls that were in flight on ``host`` (no longer there: the caller retries or faults them)."""
        calls = list(self.in_flight.pop(host, {}).values())
        self.flying -= len(calls)
        for call in calls:
            call.host = None
        return calls

    def _land(self, call: Call) -> None:
        if call.host is not None:
            if self.in_flight.get(call.host, {}).pop(call.key, None) is not None:
                self.flying -= 1
            call.host = None

    # --- responses ---
    def store(self, response: StoredResponse) -> bool:
        """Keep ``response`` when its call is still open (first stored wins); False when it was not."""
        call = self.calls.pop((response.client_id, response.id), None)
        if call is None:
            return False
        self._land(call)
        call.done = True
        self.open_by_client[call.client_id] -= 1
        self.stored.setdefault(call.client_id, {})[response.id] = response
        self.unsent.setdefault(call.client_id, deque()).append(response.id)
        self.answered += 1
        self.faulted += 0 if response.ok else 1
        return True

    def restore(self, response: StoredResponse) -> None:
        """A response reloaded from the journal: stored, its request gone."""
        self.stored.setdefault(response.client_id, {})[response.id] = response
        self.unsent.setdefault(response.client_id, deque()).append(response.id)
        self.answered += 1
        self.faulted += 0 if response.ok else 1

    def hand_out(self, client_id: str, limit: int) -> list[StoredResponse]:
        unsent, stored = self.unsent.get(client_id), self.stored.get(client_id, {})
        out: list[StoredResponse] = []
        while unsent and len(out) < limit:
            response = stored.get(unsent.popleft())
            if response is not None:  # acknowledged meanwhile: gone
                out.append(response)
        return out

    def restart(self, client_id: str) -> None:
        self.unsent[client_id] = deque(self.stored.get(client_id, {}))

    def acknowledge(self, client_id: str, ids: Iterable[str]) -> int:
        stored = self.stored.get(client_id, {})
        done = 0
        for rid in ids:
            if stored.pop(rid, None) is not None:
                self.acknowledged.add((client_id, rid))
                done += 1
        self.acked += done
        return done

    def outstanding(self, client_id: str) -> int:
        return self.open_by_client[client_id] + len(self.unsent.get(client_id, ()))

    # --- whole session ---
    def drop_pending(self, fault: Fault | None = None) -> list[StoredResponse]:
        """Every call not in flight ends: as a fault response when ``fault`` is given, else silently."""
        ended: list[StoredResponse] = []
        for call in [c for c in self.calls.values() if c.host is None]:
            if fault is not None:
                response = fault_response(call, fault.model_copy(update={"attempts": call.attempt}))
                self.store(response)
                ended.append(response)
            else:
                del self.calls[call.key]
                self.open_by_client[call.client_id] -= 1
                call.done = True
        self.pending.clear()
        return ended

    def purge(self) -> None:
        self.stored.clear()
        self.unsent.clear()

    def counts(self) -> SessionCounts:
        return SessionCounts(
            submitted=self.submitted,
            pending=len(self.calls) - self.flying,
            in_flight=self.flying,
            answered=self.answered,
            faulted=self.faulted,
            acknowledged=self.acked,
        )

    @property
    def backlog(self) -> int:
        return len(self.calls)


def fault_response(call: Call, fault: Fault) -> StoredResponse:
    return StoredResponse(
        client_id=call.client_id, id=call.item.id, ok=False, fault=fault, user_data=call.item.user_data
    )
