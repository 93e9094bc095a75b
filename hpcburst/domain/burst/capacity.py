"""Demand and capacity per pool: what is queued that may burst, what is free, what is on its way.

Demand (in slots) = startable indices that may burst − on-premises slots left free after never-burst work
takes its share − cloud slots free or on their way. When every job's duration per index is known, demand
is counted in work instead: queued indices go, in lease order, to the slot that frees up soonest (free or
booting ones now, busy ones when their index is expected to end, or half a duration on average when that
is unknown); the work no slot would start within one expected boot time is spread over max(boot time,
duration) — a node is not worth creating for work that starts before it registers. Never-burst work
beyond the free on-premises slots takes the busy ones first, as they free up. Jobs that name a pool count
only there; the others count toward the cheapest enabled pool, and only they may use the slots of pools
that do not burst. Service hosts SOA sessions want and do not have (``soa_slots``) take free slots first and
add what they leave unmet to the demand, one slot per host.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pydantic import BaseModel

from hpcburst.domain.burst.demand import unstarted_work
from hpcburst.domain.burst.models import BurstPool, BurstState, CloudNode, NodeState, RunningIndex

LIVE = (
    NodeState.NOT_DEPLOYED,
    NodeState.PROVISIONING,
    NodeState.ONLINE,
    NodeState.OFFLINE,
    NodeState.DRAINING,
)
EPSILON = 1e-9


class PoolView(BaseModel):
    """What the policy knows of one pool at one instant."""

    backlog: int  # startable indices that may burst into this pool
    pinned: int  # startable never-burst indices that want this pool's on-premises slots
    onprem_free: int  # on-premises slots free for bursting work
    provisioning: int  # nodes created but not registered, including creates not yet visible as nodes
    live: int  # nodes that exist or are on their way (counted against max_nodes)
    free_cloud_slots: int  # slots free now or on their way, on nodes not draining
    backlog_seconds: float | None  # the backlog's work in slot-seconds, None if a duration is unknown
    queue: list[tuple[int, float]]  # the backlog as (indices, seconds each) per job, when durations are known
    freeing_in: list[float]  # seconds until each busy slot the backlog will get frees up, where known
    freeing_unknown: int  # busy slots the backlog will get whose index's end is unknown
    busy_for: float  # how long the pool (on-premises or on any node) has run work without a break, at least
    expected_boot: float
    soa_slots: int = 0  # service hosts the pool's SOA sessions want and do not have (one slot each)

    @property
    def soa_unplaced(self) -> int:
        """SOA hosts no free (or booting) slot will take: a host holds its slot for the session's life, so
        hosts take free slots before queued indices do, and what they leave unmet needs new nodes."""
        return max(0, self.soa_slots - self.onprem_free - self.free_cloud_slots)

    def free_at(self) -> list[float]:
        """Seconds until each slot the backlog can use frees up: 0 for free (or booting) ones."""
        mean = self.backlog_seconds / self.backlog if self.backlog_seconds and self.backlog else 0.0
        unknown = [mean / 2] * self.freeing_unknown  # an index with no expected end is half done, on average
        return [0.0] * self._free_for_backlog() + self.freeing_in + unknown

    def _free_for_backlog(self) -> int:
        return max(0, self.onprem_free + self.free_cloud_slots - self.soa_slots)

    @property
    def demand_slots(self) -> int:
        return self.soa_unplaced + self._backlog_demand()

    def _backlog_demand(self) -> int:
        if self.backlog_seconds is None or self.backlog == 0:
            return max(0, self.backlog - self._free_for_backlog())
        mean = self.backlog_seconds / self.backlog
        residual = unstarted_work(self.queue, self.free_at(), self.expected_boot)
        return min(self.backlog, math.ceil(residual / max(self.expected_boot, mean) - EPSILON))

    def nodes_wanted(self, pool: BurstPool) -> int:
        return math.ceil(self.demand_slots / pool.slots_per_node)


def home_pool(state: BurstState, requested: str | None) -> str | None:
    names = {p.name for p in state.pools}
    if requested is not None:
        return requested if requested in names else None
    enabled = [p for p in state.pools if p.disabled_reason is None] or state.pools
    return min(enabled, key=lambda p: (p.price_per_hour, p.name)).name if enabled else None


def view(state: BurstState, pool: BurstPool, nodes: list[CloudNode], now: float) -> PoolView:
    backlog = anywhere = pinned = pinned_anywhere = 0
    queue: list[tuple[int, float]] = []
    durations_known = True
    for work in state.work:
        if work.may_burst and home_pool(state, work.pool) == pool.name:
            backlog += work.startable
            anywhere += work.startable if work.pool is None else 0
            if work.duration is None:
                durations_known = False
            else:
                queue.append((work.startable, work.duration))
        elif not work.may_burst and (work.pool in (None, pool.name)):
            pinned += work.startable
            pinned_anywhere += work.startable if work.pool is None else 0
    onprem_free, onprem_busy = _onprem_for_bursting(state, pool, anywhere, pinned, pinned_anywhere)
    known = {n.name for n in nodes}
    unseen = len(state.ledger.open_names(pool.name) - known)
    live = [n for n in nodes if n.state in LIVE]
    booting = [n for n in live if n.state in (NodeState.NOT_DEPLOYED, NodeState.PROVISIONING)]
    online = [n for n in live if n.state == NodeState.ONLINE]
    free = sum(max(0, n.slots - n.running) for n in online) + (len(booting) + unseen) * pool.slots_per_node
    all_free = state.onprem_free_slots.get(pool.name, 0) + (
        state.onprem_spare_free_slots if home_pool(state, None) == pool.name else 0
    )
    pinned_waiting = max(0, pinned - all_free)
    freeing_in, freeing_unknown = _freeing_for_backlog(state, pool, online, onprem_busy, pinned_waiting, now)
    running = [i for n in live for i in n.running_indices] + state.onprem_running.get(pool.name, [])
    return PoolView(
        backlog=backlog,
        pinned=pinned,
        onprem_free=onprem_free,
        provisioning=len(booting) + unseen,
        live=len(live) + unseen,
        free_cloud_slots=free,
        backlog_seconds=sum(count * seconds for count, seconds in queue) if durations_known else None,
        queue=queue if durations_known else [],
        freeing_in=freeing_in,
        freeing_unknown=freeing_unknown,
        busy_for=max(0.0, now - min(i.started_at for i in running)) if running else 0.0,
        expected_boot=pool.expected_boot,
        soa_slots=state.soa_slots.get(pool.name, 0),
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


def _freeing_for_backlog(
    state: BurstState,
    pool: BurstPool,
    online: list[CloudNode],
    onprem_busy: int,
    pinned_waiting: int,
    now: float,
) -> tuple[list[float], int]:
    """When the busy slots the backlog will get free up (known ends, soonest first), and how many are unknown.

    Never-burst work waiting for on-premises slots takes the busy ones first, as they free up. Busy slots
    of pools that do not burst have no known ends: they count as unknown.
    """
    onprem, onprem_unknown = _freeing(state.onprem_running.get(pool.name, []), onprem_busy, now)
    taken = min(pinned_waiting, len(onprem))
    onprem, onprem_unknown = onprem[taken:], max(0, onprem_unknown - (pinned_waiting - taken))
    cloud = [_freeing(n.running_indices, n.running, now) for n in online]
    ends = sorted([*onprem, *(end for known, _ in cloud for end in known)])
    return ends, onprem_unknown + sum(unknown for _, unknown in cloud)


def _freeing(running: list[RunningIndex], busy: int, now: float) -> tuple[list[float], int]:
    """Seconds until each busy slot frees up, soonest first, where known; and how many are unknown."""
    ends = sorted(max(0.0, i.expected_end - now) for i in running if i.expected_end is not None)
    return ends, max(0, busy - len(ends))


def scheduled_minimum(pool: BurstPool, now: float) -> int:
    """The pool's minimum at ``now``: min_nodes, raised by any weekly window (UTC) that covers it."""
    at = datetime.fromtimestamp(now, UTC)
    hh_mm = at.strftime("%H:%M")
    covering = [e.min_nodes for e in pool.schedule if e.weekday == at.weekday() and e.start <= hh_mm < e.end]
    return max([pool.min_nodes, *covering])
