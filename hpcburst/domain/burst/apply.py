"""``apply(state, decision, now)``: the state a decision leaves behind, before the cloud has answered.

The runtime stores this (with compare-and-set) before it calls any provisioner, so the reservations of
creates still in flight are visible to the next decision: two decisions in a row cannot overshoot a cap.
"""

from __future__ import annotations

from hpcburst.domain.burst import warmth
from hpcburst.domain.burst.models import (
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


def apply(state: BurstState, decision: Decision, now: float) -> BurstState:
    for action in decision.actions:
        if isinstance(action, Create):
            state = _create(state, action, now)
        elif isinstance(action, Drain):
            state = _drain(state, action.node, now)
        elif isinstance(action, Resume):
            state = _set_node(state, action.node, NodeState.ONLINE)
        elif isinstance(action, Delete):
            state = _delete(state, action, now)
        elif isinstance(action, Disable | SwitchToRegular):
            state = _update_pool(state, action)
    return state.model_copy(update={"ledger": state.ledger.prune(now)})


def _create(state: BurstState, action: Create, now: float) -> BurstState:
    pool = next(p for p in state.pools if p.name == action.pool)
    state = warmth.created(state, pool, action, now)
    ledger = state.ledger
    nodes = list(state.nodes)
    for name in action.names:
        ledger = ledger.reserve(name, pool.name, pool.price_per_hour, pool.billing_horizon, now)
        nodes.append(
            CloudNode(
                name=name,
                pool=pool.name,
                state=NodeState.PROVISIONING,
                created_at=now,
                slots=pool.slots_per_node,
                spot=pool.spot,
                manual=action.manual,
            )  # fmt: skip
        )
    counts = {**state.created_count, pool.name: state.created_count.get(pool.name, 0) + action.count}
    return state.model_copy(update={"ledger": ledger, "nodes": nodes, "created_count": counts})


def _drain(state: BurstState, name: str, now: float) -> BurstState:
    node = next((n for n in state.nodes if n.name == name), None)
    if node is not None and not node.stopping:
        state = warmth.drained(state, node, now)
    return _set_node(state, name, NodeState.DRAINING)


def _set_node(state: BurstState, name: str, to: NodeState) -> BurstState:
    nodes = [n.model_copy(update={"state": to}) if n.name == name else n for n in state.nodes]
    return state.model_copy(update={"nodes": nodes})


def _delete(state: BurstState, action: Delete, now: float) -> BurstState:
    node = next((n for n in state.nodes if n.name == action.node), None)
    update: dict[str, object] = {
        "nodes": [n for n in state.nodes if n.name != action.node],
        "ledger": state.ledger.release(action.node, now),
    }
    if node is not None and action.cause in ("boot_timeout", "failed"):
        update["failures"] = {**state.failures, node.pool: [*state.failures.get(node.pool, []), now]}
    return state.model_copy(update=update)


def _update_pool(state: BurstState, action: Disable | SwitchToRegular) -> BurstState:
    pools = []
    for pool in state.pools:
        if pool.name == action.pool and isinstance(action, Disable):
            pool = pool.model_copy(update={"disabled_reason": action.reason})
        elif pool.name == action.pool:
            price = (
                pool.regular_price_per_hour
                if pool.regular_price_per_hour is not None
                else pool.price_per_hour
            )
            pool = pool.model_copy(update={"spot": False, "price_per_hour": price})
        pools.append(pool)
    return state.model_copy(update={"pools": pools})
