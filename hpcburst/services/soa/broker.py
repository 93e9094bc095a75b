"""The SOA broker: one in-memory, thread-safe engine per process between clients and service hosts.

Clients post batches of requests and long-poll for responses; node agents long-poll for requests for their
hosts and carry responses back; the lease call asks which hosts to start (``place_hosts``). Everything is
per batch: one lock pass per call, one journal write per batch of a durable session, never one per request.
Long-polls wait on ``WorkSignal``s (one per session for clients, one per node for agents) so a new request or
response wakes them at once without blocking the event loop. Durable sessions write their journal before
an answer depends on it (requests before the POST is answered, responses before they are handed out, acks
before they are confirmed); interactive ones keep everything in memory only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from hpcburst.domain.soa.allocation import SessionDemand
from hpcburst.domain.soa.models import ServiceRegistration, SessionCounts, SessionRecord, SessionState
from hpcburst.domain.soa.protocol import (
    GetResponses,
    GetResponsesAnswer,
    HostStart,
    PostRequestsAnswer,
    RequestItem,
    SoaPoll,
    SoaPollAnswer,
    StoredResponse,
)
from hpcburst.errors import InvalidState, NotFound
from hpcburst.services.nodes import NODE_TIMEOUT
from hpcburst.services.soa import agent_steps as steps
from hpcburst.services.soa import placement
from hpcburst.services.soa.journal_port import Recovered, SessionJournal
from hpcburst.services.soa.state import BrokerState, LiveSession

log = logging.getLogger("hpcburst.soa.broker")
WAKE_EVERY = 0.5  # seconds between lease wake-ups for one session that still wants hosts
EXPIRE_EVERY = 1.0  # seconds between sweeps for silent nodes and overdue calls


class Broker:
    def __init__(
        self,
        journal: SessionJournal | None = None,
        wake_hosts: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        node_timeout: float = NODE_TIMEOUT,
        on_fault: Callable[[str, str], None] | None = None,
    ) -> None:
        """``wake_hosts``: wakes waiting lease calls (a session wants hosts); ``on_fault(session, reason)``:
        persists a session the broker Faulted (called outside the lock)."""
        self._journal, self._wake_hosts, self._clock = journal, wake_hosts, clock
        self._node_timeout, self._on_fault = node_timeout, on_fault
        self._state = BrokerState()
        self._last_expiry = 0.0

    # --- sessions ---
    def open(self, record: SessionRecord, registration: ServiceRegistration) -> None:
        with self._state.lock:
            if record.id not in self._state.sessions:
                self._state.sessions[record.id] = LiveSession(record, registration)
        self._wake_hosts()  # its first host: the first response comes as soon as a node can start one

    def restore(self, record: SessionRecord, registration: ServiceRegistration, recovered: Recovered) -> None:
        """Open a durable session again from its journal (after a restart of the process)."""
        live = LiveSession(record, registration)
        book = live.book
        book.acknowledged |= set(recovered.acknowledged)
        for response in recovered.responses:
            book.restore(response)
        by_client: dict[str, list[RequestItem]] = {}
        for client_id, item in recovered.requests:
            by_client.setdefault(client_id, []).append(item)
        for client_id, items in by_client.items():
            book.add(client_id, book.new_items(client_id, items))
        with self._state.lock:
            if record.id in self._state.sessions:
                return  # reloaded meanwhile by another call
            self._state.sessions[record.id] = live
        self._wake_hosts()

    def close(self, session: str, purge: bool, reason: str | None = None) -> None:
        """No more requests; queued ones are dropped, hosts are told to stop at their node's next poll.
        Stored responses stay readable until acknowledged, unless ``purge``."""
        with self._state.lock:
            live = self._state.sessions.get(session)
            if live is None:
                return
            if live.open:
                live.state, live.reason = SessionState.CLOSED, reason
            for host_id in list(live.book.in_flight):
                live.book.host_gone(host_id)
            live.book.drop_pending()
            if purge:
                live.book.purge()
            nodes = {self._state.hosts[h].node for h in live.hosts}
        live.signal.notify()
        self._state.notify_nodes(nodes)  # their polls answer "stop" now
        if purge and live.record.durable and self._journal is not None:
            self._journal.purge(session)

    def forget(self, session: str) -> None:
        """Drop an ended session from memory (housekeeping, once nothing of it is left to hand out)."""
        with self._state.lock:
            live = self._state.sessions.get(session)
            if live is not None and not live.open:
                del self._state.sessions[session]

    def record(self, session: str) -> SessionRecord | None:
        """The session's record as opened here (None when this broker does not hold it)."""
        live = self._state.sessions.get(session)
        return live.record if live is not None else None

    def state_of(self, session: str) -> SessionState | None:
        live = self._state.sessions.get(session)
        return live.state if live is not None else None

    def standing(self, session: str) -> tuple[SessionState, str | None] | None:
        """The session's state and why it ended, as this broker knows them (None: it does not hold it)."""
        live = self._state.sessions.get(session)
        return (live.state, live.reason) if live is not None else None

    # --- client side ---
    def submit(self, session: str, client_id: str, items: list[RequestItem]) -> PostRequestsAnswer:
        live = self._live(session)
        with live.submit_lock:  # durable batches reach the journal in the order they are queued
            with self._state.lock:
                _must_be_open(live)
                live.touch(client_id, self._clock())
                fresh = live.book.new_items(client_id, items)
            if fresh and live.record.durable and self._journal is not None:
                self._journal.append_requests(session, client_id, fresh)
            with self._state.lock:
                _must_be_open(live)
                live.book.add(client_id, fresh)
                nodes = {self._state.hosts[h].node for h in live.hosts}
                wake = self._wants_hosts(live)
        self._state.notify_nodes(nodes)
        if wake:
            self._wake_hosts()
        return PostRequestsAnswer(accepted=len(fresh), duplicates=len(items) - len(fresh))

    def _wants_hosts(self, live: LiveSession) -> bool:
        now = time.monotonic()
        if not placement.needs_hosts(live) or (live.hosts and now - live.last_wake < WAKE_EVERY):
            return False
        live.last_wake = now
        return True

    async def responses(self, session: str, body: GetResponses) -> GetResponsesAnswer:
        live = self._live(session)
        if body.ack and live.record.durable and self._journal is not None:
            await asyncio.to_thread(self._journal.acknowledge, session, body.client_id, body.ack)
        deadline = time.monotonic() + body.wait
        with self._state.lock:
            live.book.acknowledge(body.client_id, body.ack)
            live.touch(body.client_id, self._clock())
            if body.restart:
                live.book.restart(body.client_id)
        while True:
            seen = live.signal.generation
            with self._state.lock:
                out = live.book.hand_out(body.client_id, body.max)
                outstanding, state = live.book.outstanding(body.client_id), live.state
            remaining = deadline - time.monotonic()
            if out or body.max == 0 or remaining <= 0 or state != SessionState.ACTIVE:
                return GetResponsesAnswer(responses=list(out), outstanding=outstanding, state=state.value)
            await live.signal.wait(seen, remaining)

    def view_counts(self, session: str) -> SessionCounts:
        live = self._live(session)
        with self._state.lock:
            return live.book.counts()

    def units(self, session: str) -> tuple[int, int]:
        """Hosts the session has now, and its fair target in its pool."""
        live = self._live(session)
        with self._state.lock:
            return len(live.hosts), placement.targets(self._state, live.record.pool).get(session, 0)

    def clients(self, session: str) -> list[str]:
        """Client ids that made a call within the session's client idle timeout."""
        live = self._live(session)
        since = self._clock() - live.record.client_idle_timeout
        return sorted(c for c, last in list(live.clients.items()) if last >= since)

    # --- agent side ---
    def place_hosts(self, node: str, pool: str, free_slots: int, slots: int | None = None) -> list[HostStart]:
        """New hosts for ``free_slots`` of ``node`` (``slots``: all the node's slots, its share of the pool's
        capacity for fair shares; unknown from older agents, then estimated from what it had free)."""
        effects = steps.Effects()
        with self._state.lock:
            now = self._clock()
            self._expire(now, effects)
            started = placement.place(self._state, node, pool, free_slots, now, slots)
        self._after(effects)
        return started

    async def poll(self, node: str, pool: str, body: SoaPoll) -> SoaPollAnswer:
        if body.responses and self._journal is not None:
            await asyncio.to_thread(self._journal_responses, node, body)
        deadline = time.monotonic() + body.wait
        signal = self._state.signal_of(node)
        accepted: int | None = None
        while True:
            seen = signal.generation
            answer = self._poll_step(node, pool, body, accepted is None)
            accepted = answer.accepted if accepted is None else accepted
            remaining = deadline - time.monotonic()
            carried = body.responses or body.ended  # answered at once: the agent has more to send soon
            if answer.requests or answer.stop or carried or remaining <= 0:
                answer.accepted = accepted
                return answer
            await signal.wait(seen, remaining)

    def _poll_step(self, node: str, pool: str, body: SoaPoll, first: bool) -> SoaPollAnswer:
        effects = steps.Effects()
        with self._state.lock:
            now = self._clock()
            self._state.node_seen[node] = now
            self._expire(now, effects)
            accepted = steps.apply_responses(self._state, node, body.responses, effects) if first else 0
            # Host states are the call's news once: a long-poll woken later must not undo what a newer call said.
            stop = steps.reconcile_hosts(self._state, node, body, now, effects, fresh=first)
            surplus = placement.surplus_stops(self._state, node, pool, now)
            for host_id in surplus:
                self._state.remove_host(host_id)
            requests = steps.dispatch(self._state, node, body, now)
        self._after(effects, node)
        return SoaPollAnswer(requests=requests, stop=stop + surplus, accepted=accepted)

    def _journal_responses(self, node: str, body: SoaPoll) -> None:
        """Store a durable session's new responses in its journal before any of them can be handed out."""
        batches: dict[str, list[StoredResponse]] = {}
        with self._state.lock:
            mine = self._state.node_hosts.get(node, set())
            for r in body.responses:
                host = self._state.hosts.get(r.host) if r.host in mine and not r.retry else None
                live = self._state.sessions.get(host.session) if host is not None else None
                call = live.book.calls.get((r.client_id, r.id)) if live and live.record.durable else None
                if live is not None and call is not None:
                    batches.setdefault(live.id, []).append(steps.stored_response(r, call, node))
        assert self._journal is not None
        for session, items in batches.items():
            self._journal.append_responses(session, items)

    def sessions_on(self, node: str) -> set[str]:
        """Sessions with hosts placed on ``node`` (whose published data the node may read)."""
        with self._state.lock:
            return {self._state.hosts[h].session for h in self._state.node_hosts.get(node, ())}

    # --- policy inputs ---
    def demands(self, pool: str | None = None) -> list[SessionDemand]:
        with self._state.lock:
            return [s.demand() for s in self._state.open_in(pool)]

    def last_client_call(self, session: str) -> float | None:
        live = self._state.sessions.get(session)
        return live.last_call if live is not None else None

    # --- internals ---
    def _live(self, session: str) -> LiveSession:
        live = self._state.sessions.get(session)
        if live is None:
            raise NotFound(f"session {session} is not open in this broker")
        return live

    def _expire(self, now: float, effects: steps.Effects) -> None:
        if now - self._last_expiry >= EXPIRE_EVERY:
            self._last_expiry = now
            steps.expire(self._state, now, self._node_timeout, effects)

    def _after(self, effects: steps.Effects, node: str | None = None) -> None:
        """What a step asked for, outside the lock: wake clients and other nodes, persist faults, log."""
        for session in effects.touched:
            live = self._state.sessions.get(session)
            if live is not None:
                live.signal.notify()
        if effects.requeued:
            for other, signal in list(self._state.node_signals.items()):
                if other != node:
                    signal.notify()
        if effects.foreign:
            log.warning("node %s named hosts not placed on it (ignored): %s", node, effects.foreign[:10])
        for session, reason in effects.faulted:
            log.warning("session %s faulted: %s", session, reason)
            if self._on_fault is not None:
                self._on_fault(session, reason)


def _must_be_open(live: LiveSession) -> None:
    if not live.open:
        raise InvalidState(
            f"session {live.id} is {live.state.value}: it takes no more requests; open a new session",
            state=live.state.value,
        )
