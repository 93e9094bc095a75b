"""What the broker holds in memory: its open sessions, the hosts it placed, and what it knows of nodes.

Plain data, guarded by ``BrokerState.lock``; the steps that change it live in ``agent_steps`` and
``placement``, the public calls in ``broker``.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from hpcburst.domain.soa.allocation import SessionDemand
from hpcburst.domain.soa.models import ServiceRegistration, SessionRecord, SessionState
from hpcburst.services.soa.calls import SessionBook
from hpcburst.services.wakeup import WorkSignal

PREFETCH = 1  # calls a host holds beyond those it runs (hides the poll round trip)
INIT_FAILURES_LIMIT = 3  # hosts of one session that fail to start before the session is Faulted


@dataclass(slots=True)
class Host:
    id: str  # "<session>.<n>"
    session: str
    node: str
    pool: str
    placed_at: float
    seen: bool = False  # listed by its agent at least once
    ready: bool = False
    want: int = 0  # requests it can take, as its agent last said, less those handed to it since
    draining: bool = (
        False  # above its session's fair share: no new requests, stops once its calls are answered
    )


@dataclass
class LiveSession:
    record: SessionRecord
    registration: ServiceRegistration
    book: SessionBook = field(default_factory=SessionBook)
    signal: WorkSignal = field(default_factory=WorkSignal)  # responses stored, or the state changed
    submit_lock: threading.Lock = field(default_factory=threading.Lock)  # journal order of durable batches
    state: SessionState = SessionState.ACTIVE
    reason: str | None = None
    clients: dict[str, float] = field(default_factory=dict)  # client id -> last call
    last_call: float | None = None
    hosts: set[str] = field(default_factory=set)
    next_host: int = 1
    init_failures: int = 0
    last_wake: float = 0.0

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def open(self) -> bool:
        return self.state == SessionState.ACTIVE

    @property
    def per_host(self) -> int:
        return self.registration.max_concurrent + PREFETCH

    def demand(self) -> SessionDemand:
        r = self.record
        return SessionDemand(
            session=r.id,
            pool=r.pool,
            priority=r.priority,
            created_at=r.created_at,
            min_units=r.min_units,
            max_units=r.max_units,
            backlog=self.book.backlog,
            per_host=self.per_host,
            units=len(self.hosts),
        )

    def touch(self, client_id: str, now: float) -> None:
        self.clients[client_id] = now
        self.last_call = now


@dataclass
class BrokerState:
    sessions: dict[str, LiveSession] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    node_hosts: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    node_seen: dict[str, float] = field(default_factory=dict)  # node -> last agent/soa or lease call
    node_capacity: dict[str, tuple[str, int]] = field(default_factory=dict)  # node -> (pool, hosts + free)
    node_signals: dict[str, WorkSignal] = field(default_factory=dict)  # a node's SOA polls wait on it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_host(self, host: Host) -> None:
        self.hosts[host.id] = host
        self.node_hosts[host.node].add(host.id)
        self.sessions[host.session].hosts.add(host.id)

    def remove_host(self, host_id: str) -> Host | None:
        host = self.hosts.pop(host_id, None)
        if host is not None:
            self.node_hosts[host.node].discard(host_id)
            live = self.sessions.get(host.session)
            if live is not None:
                live.hosts.discard(host_id)
        return host

    def signal_of(self, node: str) -> WorkSignal:
        """The node's poll signal (made once, under the lock: two would lose wake-ups)."""
        with self.lock:
            return self.node_signals.setdefault(node, WorkSignal())

    def notify_nodes(self, nodes: set[str]) -> None:
        for node in nodes:
            signal = self.node_signals.get(node)
            if signal is not None:  # none yet: that node has no poll waiting
                signal.notify()

    def open_in(self, pool: str | None) -> list[LiveSession]:
        return [s for s in self.sessions.values() if s.open and (pool is None or s.record.pool == pool)]

    def capacity(self, pool: str) -> int:
        """Slots of the pool's nodes as last seen (their hosts plus what they had free)."""
        return sum(n for p, n in self.node_capacity.values() if p == pool)
