"""``decide(state, now)``: the burst policy as one deterministic, side-effect-free function.

Per pool, in order: delete nodes that failed or missed their boot timeout (they back the pool off),
disable a pool after repeated failures, fall back from spot after repeated evictions, stop everything if
the monthly cap is spent, then either add nodes (demand or the scheduled minimum, bounded by max_nodes
and the cost ledger) or drain nodes past the delay-after-add that sat idle for the idle timeout, or for
``spare_after`` while the rest of the pool kept running work — or, in a pool that kept being needed again
soon after letting nodes go, for longer than those gaps (keep-warm, see ``warmth``). Drained nodes with nothing running are
deleted by name: the policy never lowers a count and lets the cloud pick.
"""

from __future__ import annotations

from hpcburst.domain.burst import health, warmth
from hpcburst.domain.burst.capacity import PoolView, scheduled_minimum, view
from hpcburst.domain.burst.models import (
    Action,
    BurstPool,
    BurstState,
    CloudNode,
    Create,
    Decision,
    Delete,
    Disable,
    Drain,
    NodeState,
    Resume,
    SwitchToRegular,
)
from hpcburst.domain.burst.warmth import Warmth


def decide(state: BurstState, now: float) -> Decision:
    actions: list[Action] = []
    notes: list[str] = []
    for pool in sorted(state.pools, key=lambda p: p.name):
        pool_actions, note = _decide_pool(state, pool, now)
        actions.extend(pool_actions)
        notes.append(note)
    return Decision(at=now, actions=actions, reason="; ".join(notes) or "no pools")


def _decide_pool(state: BurstState, pool: BurstPool, now: float) -> tuple[list[Action], str]:
    nodes = [n for n in state.nodes if n.pool == pool.name]
    deletes = health.timed_out_or_failed(pool, nodes, now)
    actions: list[Action] = list(deletes)
    gone = {d.node for d in deletes}
    nodes = [n for n in nodes if n.name not in gone]
    failures = health.recent_failures(state, pool, now, new=sum(d.cause != "idle" for d in deletes))
    disabled = pool.disabled_reason or health.should_disable(pool, failures)
    if disabled and not pool.disabled_reason:
        actions.append(Disable(pool=pool.name, reason=disabled))
    fallback = health.should_fall_back(state, pool, now)
    if fallback:
        actions.append(SwitchToRegular(pool=pool.name, reason=fallback))
        pool = pool.model_copy(update={"spot": False, "price_per_hour": _regular_price(pool)})
    pv = view(state, pool, nodes, now)
    month = _over_month_cap(state, pool, nodes, now)
    if month:
        return actions + month, f"`{pool.name}`: {month[0].reason}"
    if disabled:
        scale, note = _scale_down(pool, nodes, pv, now), f"`{pool.name}` disabled: {disabled}"
    else:
        scale, note = _scale(state, pool, nodes, pv, failures, now)
    resumed = {a.node for a in scale if isinstance(a, Resume)}
    drained = _delete_drained([n for n in nodes if n.name not in resumed])
    if drained:
        note += f"; delete {len(drained)} drained in `{pool.name}`"
    health_notes = [d.reason for d in deletes] + ([fallback] if fallback else [])
    return actions + scale + drained, "; ".join([*health_notes, note])


def _regular_price(pool: BurstPool) -> float:
    return pool.regular_price_per_hour if pool.regular_price_per_hour is not None else pool.price_per_hour


def _scale(
    state: BurstState,
    pool: BurstPool,
    nodes: list[CloudNode],
    pv: PoolView,
    failures: list[float],
    now: float,
) -> tuple[list[Action], str]:
    situation = f"backlog {pv.backlog} indices, {pv.onprem_free} free on-premises slots, {pv.provisioning} provisioning"
    if pv.soa_slots:
        situation += f", SOA sessions want {pv.soa_slots} more service hosts"
    minimum = scheduled_minimum(pool, now)
    wanted = max(pv.nodes_wanted(pool), minimum - pv.live)
    if wanted <= 0:
        warm = warmth.keep_warm(state, pool, now)
        drains = _scale_down(pool, nodes, pv, now, warm)
        note = f"drain {len(drains)} idle" if drains else "no change"
        kept = _kept_warm(pool, nodes, pv, now, warm)
        if warm and kept:
            note += f"; {warm.explain(kept)}"
        return drains, f"{situation} → {note} in `{pool.name}`"
    draining = sorted(
        (n for n in nodes if n.state == NodeState.DRAINING and not n.stopping), key=lambda n: n.name
    )
    if draining:
        back = draining[:wanted]
        reason = f"{situation} → resume {len(back)} draining in `{pool.name}` instead of creating"
        return [Resume(node=n.name, reason=reason) for n in back], reason
    resume = health.backoff_until(pool, failures)
    if resume is not None and now < resume:
        return (
            [],
            f"{situation} → backing off in `{pool.name}` for {resume - now:.0f} s after {len(failures)} failures",
        )
    room = state.ledger.room(
        pool.name,
        pool.price_per_hour,
        pool.billing_horizon,
        now,
        pool.cost_cap_per_hour,
        pool.cost_cap_per_month,
    )
    headroom = max(0, pool.max_nodes - pv.live)
    allowed = headroom if room is None else min(headroom, room)
    count = min(wanted, allowed)
    why = f"max {pool.max_nodes}" if room is None else f"cap allows {room}"
    if count <= 0:
        return [], f"{situation} → +0 nodes in `{pool.name}` ({why}, wanted {wanted})"
    first = state.created_count.get(pool.name, 0)
    names = [f"{pool.name}-{first + i + 1:05d}" for i in range(count)]
    reason = f"{situation} → +{count} nodes in `{pool.name}` ({why}, ${count * pool.price_per_hour:.2f}/h)"
    if minimum > pv.live and pv.nodes_wanted(pool) < wanted:
        reason += f"; scheduled minimum {minimum}"
    return [Create(pool=pool.name, count=count, names=names, reason=reason)], reason


def _scale_down(
    pool: BurstPool, nodes: list[CloudNode], pv: PoolView, now: float, warm: Warmth | None = None
) -> list[Action]:
    """Drain nodes the backlog does not need, down to the pool's minimum, longest idle first.

    A node goes once it has been idle for the idle timeout, or — spare — idle for ``spare_after`` while the
    rest of the pool kept running work all along: it had its slots to spare, not a pause between bursts.
    A pool that keeps being needed again soon after letting nodes go (``warm``) counts a node spare only
    once it has been idle longer than those gaps.
    """
    spare_after = _spare_after(pool, warm)
    why: dict[str, str] = {}
    for n in nodes:
        idle = now - n.idle_since
        if n.state != NodeState.ONLINE or n.manual or n.running or now - n.created_at < pool.delay_after_add:
            continue
        if idle >= pool.idle_timeout:
            why[n.name] = f"idle {idle:.0f} s (timeout {pool.idle_timeout:.0f} s)"
        elif idle >= spare_after and pv.busy_for >= spare_after:
            why[n.name] = (
                f"idle {idle:.0f} s while the pool kept running work (spare after {spare_after:.0f} s)"
            )
    idle_nodes = sorted((n for n in nodes if n.name in why), key=lambda n: (n.idle_since, n.name))
    spare_slots = pv.free_cloud_slots - max(0, pv.backlog + pv.soa_slots - pv.onprem_free)
    floor = 0 if pool.disabled_reason else scheduled_minimum(pool, now)
    count = min(len(idle_nodes), spare_slots // pool.slots_per_node, max(0, pv.live - floor))
    return [
        Drain(
            node=n.name,
            reason=f"{n.name} {why[n.name]}, added {now - n.created_at:.0f} s ago: draining before delete",
        )
        for n in idle_nodes[: max(0, count)]
    ]


def _spare_after(pool: BurstPool, warm: Warmth | None) -> float:
    return min(max(pool.spare_after, warm.seconds if warm else 0.0), pool.idle_timeout)


def _kept_warm(pool: BurstPool, nodes: list[CloudNode], pv: PoolView, now: float, warm: Warmth | None) -> int:
    """Idle nodes the plain spare rule would have let go that keep-warm holds."""
    if warm is None or _spare_after(pool, warm) <= pool.spare_after:
        return 0
    plain = {a.node for a in _scale_down(pool, nodes, pv, now) if isinstance(a, Drain)}
    held = {a.node for a in _scale_down(pool, nodes, pv, now, warm) if isinstance(a, Drain)}
    return len(plain - held)


def _delete_drained(nodes: list[CloudNode]) -> list[Action]:
    return [
        Delete(node=n.name, cause="idle", reason=f"{n.name} drained, nothing running: deleted by name")
        for n in nodes
        if n.state == NodeState.DRAINING and n.running == 0
    ]


def _over_month_cap(state: BurstState, pool: BurstPool, nodes: list[CloudNode], now: float) -> list[Action]:
    cap = pool.cost_cap_per_month
    if cap is None or state.ledger.month_commitment(pool.name, now) <= cap:
        return []
    spent = state.ledger.spent(pool.name, now - 30 * 24 * 3600, now)
    return [
        Delete(
            node=n.name,
            cause="cap",
            reason=f"monthly cap ${cap:.2f} reached (${spent:.2f} spent): deleting {n.name}",
        )
        for n in nodes
        if n.state not in (NodeState.DELETING, NodeState.STOPPED)
    ]
