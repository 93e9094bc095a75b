"""How many service hosts each session gets, and which session takes a free slot (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby

from hpcburst.domain.states import Priority


@dataclass(frozen=True)
class SessionDemand:
    session: str
    pool: str
    priority: Priority
    created_at: float
    min_units: int
    max_units: int | None
    backlog: int  # requests pending or in flight
    per_host: int  # requests one host holds at once (max_concurrent plus prefetch)
    units: int  # hosts allocated now (starting or ready)


def _cap(demand: SessionDemand) -> int:
    return demand.max_units if demand.max_units is not None else 1 << 30


def wanted_units(demand: SessionDemand) -> int:
    """Hosts the backlog justifies: enough to hold every queued request at once, within min..max units."""
    by_backlog = -(-demand.backlog // max(1, demand.per_host))
    return max(demand.min_units, min(_cap(demand), by_backlog))


def fair_targets(demands: Sequence[SessionDemand], capacity: int) -> dict[str, int]:
    """Hosts per session when ``capacity`` slots are to be shared: higher priority first; within a priority,
    equal shares (water-filling: what one session does not want goes to the others), leftovers to older
    sessions. A session with backlog is never left without one host while a lower one has two."""
    targets = {d.session: 0 for d in demands}
    left = max(0, capacity)
    for _, tier in groupby(sorted(demands, key=_rank), key=lambda d: _PRIORITY_RANK[d.priority]):
        members = list(tier)
        wants = {d.session: wanted_units(d) for d in members}
        while left > 0:
            hungry = [d for d in members if targets[d.session] < wants[d.session]]
            if not hungry:
                break
            share = max(1, left // len(hungry))
            for d in hungry:  # oldest first, so leftovers of an uneven split go to older sessions
                give = min(share, wants[d.session] - targets[d.session], left)
                targets[d.session] += give
                left -= give
                if left == 0:
                    break
    return targets


def surplus(demand: SessionDemand, target: int) -> int:
    """Hosts to stop: those above the session's target."""
    return max(0, demand.units - target)


def place_order(demands: Sequence[SessionDemand], targets: Mapping[str, int], free_slots: int) -> list[str]:
    """Which session each of ``free_slots`` new hosts is for: the most short of its target first (ties: priority,
    then the older session), one at a time, so two hungry sessions fill a node alternately."""
    short = {d.session: targets.get(d.session, 0) - d.units for d in demands}
    ranked = {d.session: _rank(d) for d in demands}
    order: list[str] = []
    for _ in range(max(0, free_slots)):
        candidates = [s for s, gap in short.items() if gap > 0]
        if not candidates:
            break
        pick = min(candidates, key=lambda s: (-short[s], ranked[s]))
        short[pick] -= 1
        order.append(pick)
    return order


_PRIORITY_RANK = {p: i for i, p in enumerate(reversed(list(Priority)))}  # Highest -> 0


def _rank(demand: SessionDemand) -> tuple[int, float, str]:
    return _PRIORITY_RANK[demand.priority], demand.created_at, demand.session
