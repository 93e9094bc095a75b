"""Demand and capacity per pool: what is queued that may burst, what is free, what is on its way.

Demand (in slots) = startable indices that may burst − on-premises slots left free after never-burst work
takes its share − cloud slots free or on their way. When every job's duration per index is known, demand
is counted in work instead: what free slots, and busy slots once their index ends (half a duration on
average), cannot finish within one expected boot time, spread over max(boot time, duration) — a node is
not worth creating for work that is over before it registers. Jobs that name a pool count only there; the
others count toward the cheapest enabled pool, and only they may use the slots of pools that do not burst.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pydantic import BaseModel

from hpcburst.domain.burst.models import BurstPool, BurstState, CloudNode, NodeState

LIVE = (
    NodeState.NOT_DEPLOYED,
    NodeState.PROVISIONING,
    NodeState.ONLINE,
    NodeState.OFFLINE,
    NodeState.DRAINING,
)


class PoolView(BaseModel):
    """What the policy knows of one pool at one instant."""

    backlog: int  # startable indices that may burst into this pool
    pinned: int  # startable never-burst indices that want this pool's on-premises slots
    onprem_free: int  # on-premises slots free for bursting work
    provisioning: int  # nodes created but not registered, including creates not yet visible as nodes
    live: int  # nodes that exist or are on their way (counted against max_nodes)
    free_cloud_slots: int  # slots free now or on their way, on nodes not draining
    backlog_seconds: float | None  # the backlog's work in slot-seconds, None if a duration is unknown
    busy_slots: int  # on-premises and cloud slots running an index now
    expected_boot: float

    @property
    def demand_slots(self) -> int:
        free = self.onprem_free + self.free_cloud_slots
        if self.backlog_seconds is None or self.backlog == 0:
            return max(0, self.backlog - free)
        mean = self.backlog_seconds / self.backlog
        boot = self.expected_boot
        residual = max(0.0, self.backlog_seconds - free * boot - self.busy_slots * max(0.0, boot - mean / 2))
        return min(self.backlog, math.ceil(residual / max(self.expected_boot, mean) - 1e-9))

    def nodes_wanted(self, pool: BurstPool) -> int:
        return math.ceil(self.demand_slots / pool.slots_per_node)


def home_pool(state: BurstState, requested: str | None) -> str | None:
    names = {p.name for p in state.pools}
    if requested is not None:
        return requested if requested in names else None
    enabled = [p for p in state.pools if p.disabled_reason is None] or state.pools
    return min(enabled, key=lambda p: (p.price_per_hour, p.name)).name if enabled else None


def view(state: BurstState, pool: BurstPool, nodes: list[CloudNode]) -> PoolView:
    backlog = anywhere = pinned = pinned_anywhere = 0
    seconds: float | None = 0.0
    for work in state.work:
        if work.may_burst and home_pool(state, work.pool) == pool.name:
            backlog += work.startable
            anywhere += work.startable if work.pool is None else 0
            seconds = (
                None if seconds is None or work.duration is None else seconds + work.startable * work.duration
            )
        elif not work.may_burst and (work.pool in (None, pool.name)):
            pinned += work.startable
            pinned_anywhere += work.startable if work.pool is None else 0
    onprem_free, busy = _onprem_for_bursting(state, pool, anywhere, pinned, pinned_anywhere)
    known = {n.name for n in nodes}
    unseen = len(state.ledger.open_names(pool.name) - known)
    live = [n for n in nodes if n.state in LIVE]
    booting = [n for n in live if n.state in (NodeState.NOT_DEPLOYED, NodeState.PROVISIONING)]
    online = [n for n in live if n.state == NodeState.ONLINE]
    free = sum(max(0, n.slots - n.running) for n in online) + (len(booting) + unseen) * pool.slots_per_node
    return PoolView(
        backlog=backlog,
        pinned=pinned,
        onprem_free=onprem_free,
        provisioning=len(booting) + unseen,
        live=len(live) + unseen,
        free_cloud_slots=free,
        backlog_seconds=seconds,
        busy_slots=busy + sum(n.running for n in online),
        expected_boot=pool.expected_boot,
    )


def _onprem_for_bursting(
    state: BurstState, pool: BurstPool, anywhere: int, pinned: int, pinned_anywhere: int
) -> tuple[int, int]:
    """On-premises slots (free, busy) that serve this pool's bursting work once never-burst work has its
    share. The pool's own slots serve all of it; slots of pools that do not burst (``spare``) serve only work
    that names no pool, and only in the pool such work bursts into."""
    own_free, own_busy = state.onprem_free_slots.get(pool.name, 0), state.onprem_busy_slots.get(pool.name, 0)
    if home_pool(state, None) != pool.name:
        return max(0, own_free - pinned), own_busy
    spare_free = state.onprem_spare_free_slots
    spare_left = max(0, spare_free - pinned_anywhere)
    own_left = max(0, own_free - (pinned - pinned_anywhere) - max(0, pinned_anywhere - spare_free))
    spare_busy = min(state.onprem_spare_busy_slots, anywhere)
    return own_left + min(spare_left, anywhere), own_busy + spare_busy


def scheduled_minimum(pool: BurstPool, now: float) -> int:
    """The pool's minimum at ``now``: min_nodes, raised by any weekly window (UTC) that covers it."""
    at = datetime.fromtimestamp(now, UTC)
    hh_mm = at.strftime("%H:%M")
    covering = [e.min_nodes for e in pool.schedule if e.weekday == at.weekday() and e.start <= hh_mm < e.end]
    return max([pool.min_nodes, *covering])
