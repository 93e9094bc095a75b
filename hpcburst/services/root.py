"""The composition root: one ``Services`` per process, built lazily from ``Settings.from_env()``.

Nothing here runs at import time, so importing the function app never opens a database or an
SDK client. ``services()`` builds on first use; tests and the local runtime may ``install`` their
own (e.g. on a temporary SQLite file) and ``reset`` afterwards.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hpcburst import constants as c
from hpcburst.auth.entra import EntraSettings
from hpcburst.domain.burst.soa import slots_wanted
from hpcburst.domain.scheduling import SchedulingMode
from hpcburst.domain.soa.protocol import HostStart
from hpcburst.provisioners.factory import Provisioners
from hpcburst.services.authn import Authenticator
from hpcburst.services.burst import BurstController
from hpcburst.services.burst_admin import BurstAdmin
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.completion import CompletionService
from hpcburst.services.cost import CostService
from hpcburst.services.dependencies import DependencyService
from hpcburst.services.dispatch import DispatchService
from hpcburst.services.grants import GrantService
from hpcburst.services.identity import IdentityService
from hpcburst.services.jobs import JobService
from hpcburst.services.lease import LeaseService
from hpcburst.services.node_steps import NodeStepService
from hpcburst.services.nodes import HEARTBEAT_INTERVAL, NODE_TIMEOUT, NodeService
from hpcburst.services.pinning import PinnedWork
from hpcburst.services.pools import PoolService
from hpcburst.services.report import ReportService
from hpcburst.services.results import MAX_OUTPUT_BYTES, ResultsService
from hpcburst.services.runtimes import RuntimeStats
from hpcburst.services.soa.journal_port import SessionJournal
from hpcburst.services.soa.services import SoaServices, build_soa, default_journal
from hpcburst.services.templates import TemplateService
from hpcburst.services.wakeup import WorkSignal
from hpcburst.settings import Settings
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.queue.port import WorkQueue
from hpcburst.storage.state.port import StateStore


@dataclass
class Services:
    store: StateStore
    queue: WorkQueue | None
    blobs: BlobStore | None
    signal: WorkSignal
    catalog: JobCatalog
    dispatch: DispatchService
    jobs: JobService
    nodes: NodeService
    grants: GrantService
    lease: LeaseService
    report: ReportService
    results: ResultsService
    completion: CompletionService
    identity: IdentityService
    pools: PoolService
    authn: Authenticator
    burst: BurstController
    burst_admin: BurstAdmin
    templates: TemplateService
    cost: CostService
    pinned: PinnedWork
    dependencies: DependencyService
    clock: Callable[[], float] = time.time
    soa_journal: Callable[[StateStore], SessionJournal | None] = default_journal
    _soa: SoaServices | None = field(default=None, repr=False)
    _soa_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def soa(self) -> SoaServices:
        """SOA sessions (broker, registrations, records), built on first use: open sessions of an earlier
        process are recovered then (durable ones reloaded, interactive ones Faulted)."""
        with self._soa_lock:
            if self._soa is None:
                built = build_soa(
                    self.store,
                    self.blobs,
                    self.signal.notify,
                    self.nodes.node_timeout,
                    clock=self.clock,
                    journal=self.soa_journal(self.store),
                )
                built.recover()
                self._soa = built
            return self._soa

    def rebuild_soa(self) -> None:
        """Drop the broker's memory, as a restart of the process would (the next use recovers)."""
        with self._soa_lock:
            self._soa = None

    def place_hosts(self, node: str, pool: str, free_slots: int, slots: int | None = None) -> list[HostStart]:
        return self.soa.broker.place_hosts(node, pool, free_slots, slots)

    def soa_slots_wanted(self, pool: str) -> int:
        return slots_wanted(self.soa.broker.demands(pool))

    def close(self) -> None:
        self.store.close()


def build(
    store: StateStore,
    queue: WorkQueue | None = None,
    blobs: BlobStore | None = None,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    node_timeout: float = NODE_TIMEOUT,
    clock: Callable[[], float] = time.time,
    entra: EntraSettings | None = None,
    max_output_bytes: int = MAX_OUTPUT_BYTES,
    provisioners: Provisioners | None = None,
    scheduling: SchedulingMode = SchedulingMode.BALANCED,
) -> Services:
    """Wire the services on the given adapters (``clock``: epoch seconds, injectable for tests;
    ``entra``: an ``EntraSettings`` when Microsoft Entra ID identities are accepted; ``provisioners``:
    who makes cloud nodes, by default configured from the environment; ``scheduling``: whether jobs of
    equal priority share slots)."""
    signal, runtimes = WorkSignal(), RuntimeStats()
    catalog = JobCatalog(store)
    identity = IdentityService(store, clock)
    pools = PoolService(store, identity, clock)
    dependencies = DependencyService(store, signal)
    dispatch = DispatchService(store, catalog, signal, queue, blobs, clock=clock, dependencies=dependencies)
    jobs = JobService(
        store,
        catalog,
        dispatch,
        signal,
        clock=clock,
        allowed_roots=pools.allowed_roots,
        dependencies=dependencies,
    )
    grants = GrantService(store, catalog, blobs)
    nodes = NodeService(
        store,
        signal,
        clock=clock,
        heartbeat_interval=heartbeat_interval,
        node_timeout=node_timeout,
        grants=grants,
        identity=identity,
    )
    burst = BurstController(store, catalog, jobs, nodes, pools, identity, runtimes, provisioners, clock=clock)
    burst_admin = BurstAdmin(burst, pools)
    jobs.why_waiting = burst_admin.why_waiting
    templates = TemplateService(store, clock)
    jobs.templated = templates.applied
    cost = CostService(store, burst.records, catalog, pools, clock=clock)
    jobs.job_cost = cost.job_cost
    steps = NodeStepService(store, catalog, signal)
    nodes.left_jobs = steps.left
    built = Services(
        clock=clock,
        store=store,
        queue=queue,
        blobs=blobs,
        signal=signal,
        catalog=catalog,
        dispatch=dispatch,
        jobs=jobs,
        nodes=nodes,
        grants=grants,
        lease=LeaseService(
            store, catalog, nodes, signal, runtimes, clock=clock, grants=grants, mode=scheduling
        ),
        report=ReportService(
            store,
            catalog,
            signal,
            runtimes,
            grants,
            steps=steps,
            dependencies=dependencies,
            fail_job=jobs.fail,
        ),
        results=ResultsService(store, catalog, blobs, max_bytes=max_output_bytes),
        completion=CompletionService(store, catalog, jobs, clock=clock),
        dependencies=dependencies,
        identity=identity,
        pools=pools,
        authn=Authenticator(identity, entra),
        burst=burst,
        burst_admin=burst_admin,
        templates=templates,
        cost=cost,
        pinned=PinnedWork(store, catalog),
    )
    built.lease.place_hosts = built.place_hosts  # service hosts take free slots before tasks do
    burst.soa_demand = built.soa_slots_wanted  # sessions short of hosts grow burst pools
    return built


def from_settings(settings: Settings) -> Services:
    """Adapters chosen by the settings (storage factory); queues and blobs only when storage is configured."""
    from hpcburst.storage import factory

    store = factory.build_state_store(settings)
    blobs: BlobStore | None = None
    queue: WorkQueue | None = None
    if settings.storage_connection or settings.storage_account_url:
        blobs = factory.build_blob_store(settings)
        queue = factory.build_work_queue(settings, blobs)
        queue.ensure(c.DISPATCH_QUEUE)
    env = os.environ
    return build(
        store,
        queue,
        blobs,
        heartbeat_interval=float(env.get(c.ENV_HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL)),
        node_timeout=float(env.get(c.ENV_NODE_TIMEOUT, NODE_TIMEOUT)),
        entra=EntraSettings.from_env(env),
        max_output_bytes=int(env.get(c.ENV_MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES)),
        scheduling=SchedulingMode.parse(env.get(c.ENV_SCHEDULING_MODE)),
    )


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    global _services
    with _lock:
        if _services is None:
            _services = from_settings(Settings.from_env())
        return _services


def install(built: Services) -> None:
    global _services
    with _lock:
        _services = built


def reset() -> None:
    global _services
    with _lock:
        if _services is not None:
            _services.close()
        _services = None
