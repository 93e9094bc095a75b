"""The SOA part of the composition root: broker, registrations, session records and data grants, built
once per process on first use, when open sessions are recovered: durable ones reload from the journal,
interactive ones (their requests lived in the old process's memory only) are Faulted."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from hpcburst.domain.soa.models import ServiceRegistration, SessionRecord, SessionState
from hpcburst.errors import NotFound
from hpcburst.services.soa.broker import Broker
from hpcburst.services.soa.data import SessionData
from hpcburst.services.soa.housekeeping import SessionHousekeeping
from hpcburst.services.soa.journal_port import SessionJournal
from hpcburst.services.soa.registry import ServiceRegistry
from hpcburst.services.soa.sessions import SessionService
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.state.port import StateStore

log = logging.getLogger("hpcburst.soa")
INTERACTIVE_LOST = "the broker restarted: an interactive session keeps its requests in memory only"


@dataclass
class SoaServices:
    broker: Broker
    registry: ServiceRegistry
    sessions: SessionService
    data: SessionData
    journal: SessionJournal | None
    housekeeping: SessionHousekeeping

    def recover(self) -> None:
        """Open sessions of an earlier process: durable ones back in the broker, interactive ones Faulted."""
        for state in (SessionState.ACTIVE, SessionState.CLOSING):
            for record in self.sessions.list_sessions(state=state):
                if not record.durable or self.journal is None:
                    self.sessions.end(record.id, SessionState.FAULTED, INTERACTIVE_LOST)
                    continue
                try:
                    registration = self.registry.get(record.service)
                except NotFound:
                    self.sessions.end(
                        record.id, SessionState.FAULTED, f"service {record.service} was removed"
                    )
                    continue
                self.broker.restore(record, registration, self.journal.load(record.id))
                self.data.remember(record.id, record.data)
                if state == SessionState.CLOSING:
                    self.broker.close(record.id, purge=False, reason=record.reason)

    def hold(self, record: SessionRecord) -> bool:
        """Whether the broker holds the session, reloading an ended durable one from its journal on demand
        (its responses stay readable until acknowledged, purged or past their TTL, across restarts)."""
        if self.broker.state_of(record.id) is not None:
            return True
        if not record.durable or self.journal is None:
            return False
        try:
            registration = self.registry.get(record.service)
        except NotFound:  # removed since: no host will start for an ended session anyway
            registration = ServiceRegistration(name=record.service, module="removed")
        self.broker.restore(record, registration, self.journal.load(record.id))
        self.broker.close(record.id, purge=False, reason=record.reason)
        return True


def default_journal(store: StateStore) -> SessionJournal | None:
    """The state-store journal (``hpcburst.services.soa.journal.Journal``); None where it is not installed."""
    try:
        module = importlib.import_module("hpcburst.services.soa.journal")
    except ImportError:
        log.warning("no SOA journal module: durable sessions keep their requests in memory only")
        return None
    return cast(SessionJournal, module.Journal(store))


def build_soa(
    store: StateStore,
    blobs: BlobStore | None,
    wake_hosts: Callable[[], None],
    node_timeout: float,
    clock: Callable[[], float] = time.time,
    journal: SessionJournal | None = None,
) -> SoaServices:
    sessions = SessionService(store, clock)

    def faulted(session: str, reason: str) -> None:
        sessions.end(session, SessionState.FAULTED, reason)

    broker = Broker(journal, wake_hosts, clock=clock, node_timeout=node_timeout, on_fault=faulted)
    data = SessionData(blobs)
    housekeeping = SessionHousekeeping(broker, sessions, journal or _NoJournal(), blobs, clock, data.forget)
    return SoaServices(broker, ServiceRegistry(store, clock), sessions, data, journal, housekeeping)


class _NoJournal:
    """Housekeeping's journal where none is installed: durable sessions then live in memory only."""

    def purge(self, session: str) -> None:
        pass

    def compact(self, session: str) -> int:
        return 0
