"""Small builders for hand-made burst states (imported by the tests in this folder)."""

from __future__ import annotations

from hpcburst.domain.burst import BurstPool, CloudNode, NodeState

NOW = 1_800_000_000.0  # a Friday, 08:00 UTC


def pool(**overrides: object) -> BurstPool:
    base: dict[str, object] = {"name": "cloud", "max_nodes": 10, "slots_per_node": 4, "price_per_hour": 0.10}
    return BurstPool.model_validate({**base, **overrides})


def node(name: str, state: NodeState = NodeState.ONLINE, *, age: float = 3600, idle: float = 0,
         running: int = 0, slots: int = 4) -> CloudNode:  # fmt: skip
    return CloudNode(
        name=name, pool="cloud", state=state, created_at=NOW - age,
        registered_at=None if state == NodeState.PROVISIONING else NOW - age + 60,
        last_busy_at=NOW - idle, slots=slots, running=running,
    )  # fmt: skip
