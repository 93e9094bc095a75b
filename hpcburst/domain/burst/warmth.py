"""Recurrence-aware keep-warm: a pool that keeps being needed again soon after it let a node go keeps its
idle nodes through such gaps instead of draining them as spare.

Memory (per pool, in ``BurstState`` and the controller's record): when each node the policy drained as
idle had gone idle, and every *recall* — a create made within the idle timeout of such a node going idle,
with that gap. When the pool saw ``RECALLS_TO_KEEP_WARM`` recalls within the last hour, an idle node is
not spare until it has been idle longer than the longest of those gaps: draining it would only buy it
back (another boot, and indices waiting for it). The idle timeout still applies, so a pool that stops
recurring lets its nodes go as before, and the memory ages out after an hour.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hpcburst.domain.burst.models import HOUR, BurstPool, BurstState, CloudNode, Create, Recall

RECALLS_TO_KEEP_WARM = 2  # one recall can be chance; on 3 the square_5m trace rarely learns in time


class Warmth(BaseModel):
    """How long an idle node is kept before it counts as spare, and the evidence for it."""

    model_config = ConfigDict(frozen=True)

    seconds: float
    recalls: int

    def explain(self, kept: int) -> str:
        return (
            f"keeping {kept} idle node{'s' if kept != 1 else ''} warm: the pool was needed again within "
            f"{self.seconds:.0f} s of letting a node go {self.recalls} times in the last hour"
        )


def keep_warm(state: BurstState, pool: BurstPool, now: float) -> Warmth | None:
    """The pool's keep-warm time, or None while it has not recurred often enough to earn one."""
    gaps = [
        r.gap for r in state.recalls.get(pool.name, []) if now - r.at <= HOUR and r.gap <= pool.idle_timeout
    ]
    if len(gaps) < RECALLS_TO_KEEP_WARM:
        return None
    return Warmth(seconds=max(gaps), recalls=len(gaps))


def drained(state: BurstState, node: CloudNode, now: float) -> BurstState:
    """Remember when a node the policy drained had gone idle."""
    recent = [t for t in state.idle_drains.get(node.pool, []) if now - t <= HOUR]
    return state.model_copy(
        update={"idle_drains": {**state.idle_drains, node.pool: [*recent, node.idle_since]}}
    )


def created(state: BurstState, pool: BurstPool, action: Create, now: float) -> BurstState:
    """A create soon after a node was let go is a recall: the pool was needed again ``gap`` seconds later."""
    idle = [t for t in state.idle_drains.get(pool.name, []) if t <= now]
    if action.manual or not idle or now - max(idle) > pool.idle_timeout:
        return state
    recent = [r for r in state.recalls.get(pool.name, []) if now - r.at <= HOUR]
    recall = Recall(at=now, gap=now - max(idle))
    return state.model_copy(
        update={
            "recalls": {**state.recalls, pool.name: [*recent, recall]},
            "idle_drains": {**state.idle_drains, pool.name: []},  # one recall per letting go
        }
    )
