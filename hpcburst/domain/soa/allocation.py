"""How many service hosts each session gets, and which session takes a free slot (pure functions).

The rules, in the order ``fair_targets`` applies them to the ``capacity`` slots SOA hosts may hold:

1. **Floors**, tier by tier (highest priority first): each session's floor is its ``min_units``, and at
   least one host if it wants any. Within a tier floors are water-filled (everyone's first host before
   anyone's second), so no session starves while its tier has a slot per member; a lower tier's floors come
   after a higher tier's floors but before anyone's extras.
2. **Extras**, tier by tier: water-filling up to what each session's backlog justifies (``wanted_units``):
   the session holding least is raised first, what one does not want goes to the others, and what cannot be
   split evenly goes to the older sessions.
3. **Keeping (hysteresis)**: slots nobody claimed in 1-2 let a session that still has backlog keep the hosts
   it already runs (up to ``max_units``). A host costs ~0.3 s to start and nothing to keep, so a session
   whose backlog dips does not stop hosts only to start them again; but kept hosts are never counted as
   demand, so a newcomer's fair share takes them back at once. A session whose backlog is gone keeps only
   its ``min_units``.
"""

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


_UNBOUNDED = 1 << 30


def _cap(demand: SessionDemand) -> int:
    return demand.max_units if demand.max_units is not None else _UNBOUNDED


def wanted_units(demand: SessionDemand) -> int:
    """Hosts the backlog justifies: enough to hold every queued request at once, within min..max units.
    It shrinks as the backlog shrinks, down to ``min_units`` (hysteresis is applied in ``fair_targets``)."""
    by_backlog = -(-max(0, demand.backlog) // max(1, demand.per_host))
    return max(demand.min_units, min(_cap(demand), by_backlog))


def fair_targets(demands: Sequence[SessionDemand], capacity: int) -> dict[str, int]:
    """Hosts per session when ``capacity`` slots are to be shared (see the module docstring for the rules):
    higher priority first, ``min_units`` before extras, equal shares within a priority, no starvation,
    and sessions with backlog keep running hosts in slots nobody else wants."""
    ordered = sorted(demands, key=_rank)
    wants = {d.session: wanted_units(d) for d in ordered}
    targets = {d.session: 0 for d in ordered}
    left = max(0, capacity)
    tiers = [list(tier) for _, tier in groupby(ordered, key=lambda d: _PRIORITY_RANK[d.priority])]
    floors = {d.session: min(max(d.min_units, 1), wants[d.session]) for d in ordered}
    for goal in (floors, wants):
        for tier in tiers:
            left -= _water_fill(tier, targets, goal, left)
    for d in ordered:  # hysteresis: spare slots keep the hosts of sessions that still have backlog
        if d.backlog > 0:
            give = min(max(0, min(d.units, _cap(d)) - targets[d.session]), left)
            targets[d.session] += give
            left -= give
    return targets


def _water_fill(
    tier: list[SessionDemand], targets: dict[str, int], wants: Mapping[str, int], budget: int
) -> int:
    """Raise the tier's targets (in place) towards ``wants``, lowest first, using at most ``budget`` slots;
    leftovers of an uneven split go to the earlier (older) members. Returns the slots used."""
    held = [targets[d.session] for d in tier]
    caps = [max(h, wants[d.session]) for h, d in zip(held, tier, strict=True)]
    if budget <= 0 or all(h >= c for h, c in zip(held, caps, strict=True)):
        return 0

    def cost(level: int) -> int:
        return sum(min(c, max(h, level)) - h for h, c in zip(held, caps, strict=True))

    low, high = min(held), max(caps)
    while low < high:  # the highest level whose cost fits the budget
        mid = (low + high + 1) // 2
        low, high = (mid, high) if cost(mid) <= budget else (low, mid - 1)
    used = 0
    for d, h, c in zip(tier, held, caps, strict=True):
        targets[d.session] = min(c, max(h, low))
        used += targets[d.session] - h
    for d, c in zip(
        tier, caps, strict=True
    ):  # one more for the oldest members at the level, while any is left
        if used < budget and targets[d.session] == low and c > low:
            targets[d.session] += 1
            used += 1
    return used


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
