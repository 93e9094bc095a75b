"""The manual burst and what admins read of the controller: `node start|stop`, `burst status|log|enable`,
cloud nodes in `node list`, and why a job waits (`job view`).

Rules of the manual burst:
- ``node start POOL --count N`` creates N nodes now, within the pool's max_nodes and cost caps (all or
  none: a request that does not fit is refused with what fits). The policy never scales these down.
- ``node stop NAME...`` drains: the node leases nothing new, the indices it runs finish, then it is deleted.
  With ``now`` it is deleted at once and its running indices go back to the queue at once (a requeue is not
  a failure: their retry count is kept). A node still booting is deleted at once either way.
"""

from __future__ import annotations

from hpcburst.domain.burst import Create, Decision, apply
from hpcburst.domain.burst.capacity import LIVE
from hpcburst.domain.burst.models import CloudNode, NodeState
from hpcburst.domain.burst.record import STOPPED_KEPT, BurstRecord, StoppedNode
from hpcburst.domain.burst.status import BurstStatus, CloudNodeView, PoolBurstStatus, pool_status, why_waiting
from hpcburst.domain.job import Job
from hpcburst.domain.pool import Pool
from hpcburst.errors import ConfigError, InvalidSpec, InvalidState, NotFound
from hpcburst.services.burst import BurstController, conflict_if_nodes
from hpcburst.services.burst_inputs import onprem_online
from hpcburst.services.pools import PoolService


class BurstAdmin:
    def __init__(self, controller: BurstController, pools: PoolService) -> None:
        self._controller, self._pools = controller, pools

    def _now(self) -> float:
        return self._controller.clock()

    # --- the manual burst ---
    def start_nodes(self, pool_name: str, count: int, who: str) -> list[str]:
        if count < 1:
            raise InvalidSpec("--count must be at least 1", field="count")
        pool = self._burstable(pool_name)
        bp = pool.burst_pool()
        assert bp is not None and pool.burst is not None
        now = self._now()
        with self._controller.lock:

            def add(record: BurstRecord) -> BurstRecord:
                seen = record.pools_as_seen([bp])[0]
                if seen.disabled_reason:
                    raise InvalidState(f"pool {pool_name!r} is disabled: {seen.disabled_reason}; "
                                       f"`hpcburst burst enable {pool_name}` first")  # fmt: skip
                live = sum(n.pool == pool_name and n.state in LIVE for n in record.nodes)
                room = record.ledger.room(pool_name, seen.price_per_hour, seen.billing_horizon, now,
                                          seen.cost_cap_per_hour, seen.cost_cap_per_month)  # fmt: skip
                fits = (
                    max(0, seen.max_nodes - live)
                    if room is None
                    else min(max(0, seen.max_nodes - live), room)
                )
                if count > fits:
                    limit = f"max_nodes {seen.max_nodes}, {live} live" + (
                        "" if room is None else f", caps allow {room}"
                    )
                    raise InvalidState(f"only {fits} more node(s) fit in pool {pool_name!r} ({limit}): "
                                       f"ask for {fits} or raise the limit with `hpcburst pool set {pool_name}`")  # fmt: skip
                first = record.created_count.get(pool_name, 0)
                names = [f"{pool_name}-{first + i + 1:05d}" for i in range(count)]
                reason = f"{who}: node start {pool_name} --count {count} → +{count} nodes (manual)"
                action = Create(pool=pool_name, count=count, names=names, manual=True, reason=reason)
                decision = Decision(at=now, actions=[action], reason=reason)
                state = record.state([seen])
                return record.after(state, apply(state, decision, now), decision)

            record = self._controller.records.update(add)
            assert record.last is not None
            self._controller.records.log(record.last)
            failed = self._controller.create_pending(record, {pool_name: pool}, now)
        error = failed.get(pool_name)
        if isinstance(
            error, ConfigError
        ):  # the pool asks for a provisioner this deployment has no settings for
            raise InvalidState(f"pool {pool_name!r} cannot start nodes here: {error.message}")
        if error is not None:
            raise error
        return list(record.last.actions[0].names) if isinstance(record.last.actions[0], Create) else []

    def stop_nodes(self, names: list[str], now_: bool, who: str) -> dict[str, str]:
        """Per node, what happens: "draining" (deleted once idle) or "deleting"."""
        if not names:
            raise InvalidSpec("name at least one node", field="nodes")
        now = self._now()
        outcome: dict[str, str] = {}
        with self._controller.lock:

            def stop(record: BurstRecord) -> BurstRecord:
                outcome.clear()
                for name in names:
                    if record.node(name) is None:
                        if name in record.deleting:
                            outcome[name] = "deleting"
                            continue
                        raise NotFound(_not_cloud(name, self._controller))
                nodes, gone = [], []
                for node in record.nodes:
                    if node.name not in names:
                        nodes.append(node)
                    elif now_ or node.registered_at is None:
                        gone.append(node)
                        outcome[node.name] = "deleting"
                    else:
                        nodes.append(node.model_copy(update={"state": NodeState.DRAINING, "stopping": True}))
                        outcome[node.name] = "draining"
                return _stopped(record, nodes, gone, now, who)

            record = self._controller.records.update(stop)
            for name, what in outcome.items():
                if what == "draining":
                    self._drain(name)
            pools = {p.name: p for p in self._pools.list_pools() if p.burst is not None}
            self._controller.delete_pending(record, pools)
        return outcome

    def _drain(self, name: str) -> None:
        from hpcburst.domain.states import NodeState as Registered

        try:
            self._controller.nodes.set_state(name, Registered.OFFLINE)
        except NotFound:
            pass

    # --- reading ---
    def status(self) -> BurstStatus:
        record, _ = self._controller.records.read()
        now = self._now()
        statuses = []
        for pool in self._pools.list_pools():
            bp = pool.burst_pool()
            if bp is not None and pool.burst is not None:
                statuses.append(pool_status(record, bp, pool.burst.provisioner, now))
        return BurstStatus(pools=statuses, nodes=self.cloud_nodes(record), last=record.last)

    def cloud_nodes(self, record: BurstRecord | None = None) -> list[CloudNodeView]:
        """The controller's nodes in every lifecycle state, stopped ones last (for `node list`)."""
        record = record or self._controller.records.read()[0]
        rates = {r.node: r.price_per_hour for r in record.ledger.reservations}
        views = [_view(n, rates.get(n.name)) for n in record.nodes]
        views += [CloudNodeView(name=n, pool=p, state=NodeState.DELETING.value, created_at=0.0)
                  for n, p in record.deleting.items() if record.node(n) is None]  # fmt: skip
        views += [CloudNodeView(name=s.name, pool=s.pool, state=NodeState.STOPPED.value, created_at=s.created_at,
                                stopped_at=s.stopped_at, manual=s.manual, cause=s.cause,
                                price_per_hour=rates.get(s.name))
                  for s in reversed(record.stopped) if s.name not in record.deleting][:50]  # fmt: skip
        return views

    def enable(self, pool_name: str) -> PoolBurstStatus:
        """Re-enable a pool the controller disabled after boot failures (its failure history is cleared)."""
        pool = self._burstable(pool_name)
        with self._controller.lock:
            record = self._controller.records.update(lambda r: r.model_copy(update={
                "disabled": {k: v for k, v in r.disabled.items() if k != pool_name},
                "failures": {k: v for k, v in r.failures.items() if k != pool_name}}))  # fmt: skip
        bp = pool.burst_pool()
        assert bp is not None and pool.burst is not None
        return pool_status(record, bp, pool.burst.provisioner, self._now())

    def why_waiting(self, job: Job) -> str | None:
        waiting, _ = self._controller.jobs.backlog(job)
        if waiting <= 0 or job.state.terminal:
            return None
        record, _ = self._controller.records.read()
        burst = [bp for p in self._pools.list_pools() if (bp := p.burst_pool()) is not None]
        online = onprem_online(self._controller.store, self._controller.nodes.node_timeout, self._now())
        return why_waiting(job.never_burst, job.pool, online, burst, record)

    def check_can_stop_bursting(self, pool: str) -> None:
        conflict_if_nodes(self._controller.records.read()[0], pool)

    def _burstable(self, name: str) -> Pool:
        pool = self._pools.get(name)
        if pool.burst is None:
            raise InvalidState(f"pool {name!r} does not burst: give it a provisioner with "
                               f"`hpcburst pool set {name} --provisioner local|azure`")  # fmt: skip
        return pool


def _view(node: CloudNode, rate: float | None) -> CloudNodeView:
    return CloudNodeView(name=node.name, pool=node.pool, state=node.state.value, created_at=node.created_at,
                         manual=node.manual, spot=node.spot, price_per_hour=rate)  # fmt: skip


def _stopped(
    record: BurstRecord, nodes: list[CloudNode], gone: list[CloudNode], now: float, who: str
) -> BurstRecord:
    ledger = record.ledger
    for node in gone:
        ledger = ledger.release(node.name, now)
    stopped = [StoppedNode(name=n.name, pool=n.pool, created_at=n.created_at, stopped_at=now,
                           cause=f"stopped by {who}", manual=n.manual, slots=n.slots) for n in gone]  # fmt: skip
    return record.model_copy(
        update={
            "nodes": nodes,
            "ledger": ledger,
            "creating": {k: v for k, v in record.creating.items() if k not in {n.name for n in gone}},
            "deleting": {**record.deleting, **{n.name: n.pool for n in gone}},
            "stopped": (record.stopped + stopped)[-STOPPED_KEPT:],
        }
    )


def _not_cloud(name: str, controller: BurstController) -> str:
    registered = {n.name: n for n in controller.nodes.list_nodes()}
    if name in registered and not registered[name].cloud:
        return (f"{name} is an on-premises node: `hpcburst node offline {name}` drains it; "
                "stop its agent on the machine itself")  # fmt: skip
    return f"{name} is not a cloud node of any burstable pool (see `hpcburst node list`)"
