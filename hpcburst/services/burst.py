"""The burst controller: each tick reads the cluster, runs the pure policy, records the decision, then does it.

A tick (a timer every 2 s, and at once when a job is submitted: ``wake``):
1. lists each burstable pool's cloud nodes (before reading the record, so a node listed but unknown to the
   record is surely an orphan);
2. reads the record, brings it up to date with the cluster (``observe``), runs ``decide`` and ``apply``,
   and writes the new record with compare-and-set (a lost race re-reads and decides again);
3. logs the decision (``BurstStore.log``), then carries it out: creates (with a short-lived join secret),
   drains and resumes (the node goes Offline/Online), deletes by name (the node's registration goes, its
   work is re-queued), and deletes orphans.
A crash between 2 and 3 loses nothing: the record lists the creates and deletes not yet confirmed, and the
next tick makes them again (both are idempotent by name).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from hpcburst.domain.burst import Decision, Drain, Resume, apply, decide
from hpcburst.domain.burst.models import BurstPool
from hpcburst.domain.burst.observe import observe
from hpcburst.domain.burst.record import BurstRecord
from hpcburst.domain.burst.soa import no_soa_demand
from hpcburst.domain.identity import CredentialKind
from hpcburst.domain.pool import Pool
from hpcburst.domain.states import NodeState
from hpcburst.errors import Conflict, HpcBurstError, NotFound, Throttled
from hpcburst.provisioners.factory import LIST_EVERY, Provisioners
from hpcburst.services.burst_inputs import ClusterView, read_cluster
from hpcburst.services.burst_store import BurstStore
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.identity import IdentityService
from hpcburst.services.jobs import JobService
from hpcburst.services.nodes import NodeService
from hpcburst.services.pools import PoolService
from hpcburst.services.runtimes import RuntimeStats
from hpcburst.storage.state.port import StateStore

log = logging.getLogger("hpcburst.burst")
CAS_RETRIES = 5
JOIN_SECRET_MARGIN = 300.0  # a create's join secret lives the pool's boot timeout plus this
PRUNE_EVERY = 3600.0


class BurstController:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        jobs: JobService,
        nodes: NodeService,
        pools: PoolService,
        identity: IdentityService,
        runtimes: RuntimeStats,
        provisioners: Provisioners | None = None,
        clock: Callable[[], float] = time.time,
        soa_demand: Callable[[str], int] = no_soa_demand,
    ) -> None:
        self.store, self._catalog, self.jobs, self.nodes = store, catalog, jobs, nodes
        # pool -> service hosts SOA sessions want and lack (``domain.burst.soa.soa_demand_of(broker.demands)``)
        self.soa_demand = soa_demand
        self._pools, self._identity, self._runtimes, self.clock = pools, identity, runtimes, clock
        self.provisioners = provisioners or Provisioners()
        self.records = BurstStore(store)
        self.lock = threading.RLock()  # one tick (or admin change) at a time in this process
        self._listed: dict[str, tuple[float, dict[str, str]]] = {}
        self._retry_at = 0.0
        self._pruned_at = 0.0
        self._wake = threading.Event()
        self._waker: threading.Thread | None = None

    # --- ticking ---
    def wake(self) -> None:
        """Tick soon, in the background (a submit calls this: a backlog is seen at once, not next timer)."""
        self._wake.set()
        with self.lock:
            if self._waker is None or not self._waker.is_alive():
                self._waker = threading.Thread(target=self._wake_loop, name="burst-wake", daemon=True)
                self._waker.start()

    def _wake_loop(self) -> None:
        while self._wake.wait(timeout=30):
            self._wake.clear()
            try:
                self.tick()
            except Exception:  # a background tick must not die silently or kill the thread
                log.exception("burst tick failed")

    def tick(self) -> Decision | None:
        """One decision (None when nothing bursts and the controller holds no node)."""
        with self.lock:
            return self._tick()

    def _tick(self) -> Decision | None:
        now = self.clock()
        pools = {p.name: p for p in self._pools.list_pools() if p.burst is not None}
        listed = self._list(pools, now)
        for _ in range(CAS_RETRIES):
            record, etag = self.records.read()
            if not pools and not record.known():
                return None
            cluster = self.cluster(pools, now)
            seen = observe(record, cluster.cloud, listed, now)
            state = seen.state(_burst_pools(pools), cluster.inputs)
            decision = decide(state, now)
            after = seen.after(state, apply(state, decision, now), decision)
            if _same(after, record):
                break  # nothing to write: the same decision as last time, on the same record
            try:
                self.records.write(after, etag)
            except Conflict:
                continue
            break
        else:
            return None
        self._log_losses(record, seen, now)
        self.records.log(decision)
        self._carry_out(after, pools, decision, now)
        self._delete_orphans(after, pools, listed)
        if now - self._pruned_at > PRUNE_EVERY:
            self._pruned_at = now
            self.records.prune(now)
        return decision

    def _log_losses(self, before: BurstRecord, seen: BurstRecord, now: float) -> None:
        """Nodes the cloud took away (evictions) or that went silent are not the policy's decisions, but an
        admin reading the log must see them too."""
        lost = [s for s in seen.stopped if s.stopped_at == now and s not in before.stopped]
        if lost:
            what = ", ".join(f"{s.name} ({s.cause})" for s in lost)
            self.records.log(
                Decision(
                    at=now, actions=[], reason=f"lost from the cloud: {what}; their indices are queued again"
                )
            )

    def cluster(self, pools: dict[str, Pool], now: float) -> ClusterView:
        return read_cluster(self.store, self._catalog, self.jobs, self._runtimes, _burst_pools(pools),
                            self.nodes.node_timeout, now, self.soa_demand)  # fmt: skip

    def _list(self, pools: dict[str, Pool], now: float) -> dict[str, dict[str, str]]:
        """Per pool listed this tick (or recently enough): node name -> the cloud's state."""
        listed: dict[str, dict[str, str]] = {}
        for name, pool in pools.items():
            assert pool.burst is not None
            at, nodes = self._listed.get(name, (-1e18, {}))
            if now - at >= LIST_EVERY.get(pool.burst.provisioner, 30.0):
                try:
                    provisioner, target = self.provisioners.for_pool(pool)
                    nodes = {n.name: n.state for n in provisioner.list(target)}
                except HpcBurstError as error:
                    log.warning("cannot list pool %s: %s", name, error)
                    continue
                self._listed[name] = (now, nodes)
            listed[name] = nodes
        return listed

    # --- carrying out ---
    def _carry_out(self, record: BurstRecord, pools: dict[str, Pool], decision: Decision, now: float) -> None:
        for action in decision.actions:
            if isinstance(action, Drain | Resume):
                state = NodeState.OFFLINE if isinstance(action, Drain) else NodeState.ONLINE
                try:
                    self.nodes.set_state(action.node, state)
                except NotFound:
                    pass  # not registered yet (or any more): nothing leases to it
        self.create_pending(record, pools, now)
        self.delete_pending(record, pools)

    def create_pending(
        self, record: BurstRecord, pools: dict[str, Pool], now: float
    ) -> dict[str, HpcBurstError]:
        """Make the creates the record lists; per pool whose create failed, the error (its nodes are dropped)."""
        failed: dict[str, HpcBurstError] = {}
        if not record.creating or now < self._retry_at:
            return failed
        for pool_name, names in _by_pool(record.creating).items():
            pool = pools.get(pool_name)
            if pool is None or pool.burst is None:
                self.records.update(partial(_forget_creates, names=names, now=now, failed_pool=None))
                continue
            try:
                provisioner, target = self.provisioners.for_pool(pool)
                if pool_name in record.regular:  # spot evicted too often: the policy fell back to regular VMs
                    target = target.model_copy(update={"spot": False})
                secret, _ = self._identity.issue(
                    CredentialKind.JOIN,
                    pool_name,
                    pool=pool_name,
                    description=f"burst create {', '.join(names)}",
                    lifetime=pool.burst.boot_timeout + JOIN_SECRET_MARGIN,
                )
                provisioner.create(target, names, secret)
            except Throttled as error:
                self._retry_at = now + float(str(error.details.get("retry_after", 30)))
                log.warning("create in %s throttled: %s", pool_name, error)
                return failed
            except HpcBurstError as error:
                log.warning("create in %s failed: %s", pool_name, error)
                why = f"create of {', '.join(names)} in `{pool_name}` failed: {error.message}"
                self.records.update(partial(_forget_creates, names=names, now=now, failed_pool=pool_name))
                self.records.log(Decision(at=now, actions=[], reason=why))
                failed[pool_name] = error
                continue
            self.records.update(partial(_confirmed, names=names, field="creating"))
        return failed

    def delete_pending(self, record: BurstRecord, pools: dict[str, Pool]) -> None:
        for pool_name, names in _by_pool(record.deleting).items():
            pool = pools.get(pool_name)
            if pool is not None and pool.burst is not None:
                try:
                    provisioner, target = self.provisioners.for_pool(pool)
                    provisioner.delete(target, names)
                except HpcBurstError as error:
                    log.warning("delete of %s failed (retried next tick): %s", names, error)
                    continue
            for name in names:
                self.nodes.forget(name, "its cloud node was deleted")
            self.records.update(partial(_confirmed, names=names, field="deleting"))

    def _delete_orphans(
        self, record: BurstRecord, pools: dict[str, Pool], listed: dict[str, dict[str, str]]
    ) -> None:
        known = record.known()
        for pool_name, nodes in listed.items():
            orphans = sorted(n for n, state in nodes.items() if n not in known and state != "Deleting")
            if not orphans:
                continue
            log.warning(
                "deleting orphans in pool %s (billing, unknown to the controller): %s", pool_name, orphans
            )
            try:
                provisioner, target = self.provisioners.for_pool(pools[pool_name])
                provisioner.delete(target, orphans)
            except HpcBurstError as error:
                log.warning("orphan delete failed (retried next tick): %s", error)
                continue
            self._listed.pop(pool_name, None)
            self.records.log(Decision(at=self.clock(), actions=[],
                                      reason=f"deleted orphans in `{pool_name}`: {', '.join(orphans)}"))  # fmt: skip


def _same(after: BurstRecord, before: BurstRecord) -> bool:
    """Nothing changed but the time of the decision: no write needed (the store sees a tick every 2 s)."""
    if (
        after.last is None
        or before.last is None
        or after.last.actions
        or after.last.reason != before.last.reason
    ):
        return False
    return after.model_copy(update={"last": None}) == before.model_copy(update={"last": None})


def _burst_pools(pools: dict[str, Pool]) -> list[BurstPool]:
    return [bp for p in pools.values() if (bp := p.burst_pool()) is not None]


def _by_pool(names: dict[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, pool in sorted(names.items()):
        grouped.setdefault(pool, []).append(name)
    return grouped


def _confirmed(record: BurstRecord, names: list[str], field: str) -> BurstRecord:
    """The provisioner did it: the names leave the record's pending ``creating`` or ``deleting``."""
    pending: dict[str, str] = getattr(record, field)
    return record.model_copy(update={field: {k: v for k, v in pending.items() if k not in names}})


def _forget_creates(
    record: BurstRecord, names: list[str], now: float, failed_pool: str | None
) -> BurstRecord:
    """Creates that cannot happen: the nodes leave the record, their reservations are dropped (nothing was
    made, nothing bills) and, when the cloud refused (``failed_pool``), each counts as a boot failure."""
    ledger = record.ledger
    for name in names:
        ledger = ledger.cancel(name)
    failures = dict(record.failures)
    if failed_pool is not None:
        failures[failed_pool] = [*failures.get(failed_pool, []), *([now] * len(names))]
    return record.model_copy(
        update={
            "nodes": [n for n in record.nodes if n.name not in names],
            "creating": {k: v for k, v in record.creating.items() if k not in names},
            "ledger": ledger,
            "failures": failures,
        }
    )


def conflict_if_nodes(record: BurstRecord, pool: str) -> None:
    """A pool that still has cloud nodes may not stop bursting or be deleted: they would bill unseen."""
    live = sorted(n.name for n in record.nodes if n.pool == pool) + sorted(
        n for n, p in record.deleting.items() if p == pool
    )
    if live:
        raise Conflict(
            f"pool {pool!r} still has cloud nodes ({', '.join(live)}): stop them first "
            f"(`hpcburst node stop {' '.join(live)}`) and wait until `hpcburst node list` no longer shows them"
        )
