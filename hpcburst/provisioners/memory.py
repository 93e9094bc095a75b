"""The in-memory provisioner: a first-class fake for tests and for planning code (no cloud, no processes).

It keeps nodes in a dict, records every call, and can be told to boot slowly, to fail named nodes, to run
out of capacity or to throttle, so burst logic can be tested against each outcome the real clouds produce.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hpcburst.errors import CapacityError, Throttled
from hpcburst.provisioners.port import NodeState, PoolTarget, ProvisionedNode, check_names


@dataclass
class _Node:
    pool: str
    created_at: float
    spot: bool
    vm_size: str
    join_token: str
    state: NodeState | None = None  # fixed state (Failed, Deallocated); None = by boot delay


@dataclass
class MemoryProvisioner:
    """Nodes in memory. ``capacity`` caps the nodes alive at once (None = no cap); ``fail`` names nodes that
    come up Failed; ``boot_delay`` is how long (by ``clock``) a node stays Provisioning."""

    clock: Callable[[], float] = time.time
    boot_delay: float = 0.0
    capacity: int | None = None
    fail: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    nodes: dict[str, _Node] = field(default_factory=dict)
    _throttle: list[float] = field(default_factory=list)

    def throttle_next(self, retry_after: float = 1.0) -> None:
        """The next call raises Throttled (as a cloud API does when called too often)."""
        self._throttle.append(retry_after)

    def create(self, pool: PoolTarget, names: list[str], join_token: str) -> list[ProvisionedNode]:
        self.calls.append(("create", pool.pool, tuple(names)))
        check_names(names)
        self._maybe_throttle()
        new = [n for n in names if n not in self.nodes]
        if self.capacity is not None and len(self.nodes) + len(new) > self.capacity:
            raise CapacityError(
                f"no capacity for {len(new)} more {pool.vm_size} ({'spot' if pool.spot else 'on-demand'}) "
                "nodes now: try another size or region, or on-demand",
                code="AllocationFailed",
            )
        now = self.clock()
        for name in new:
            state: NodeState | None = "Failed" if name in self.fail else None
            self.nodes[name] = _Node(pool.pool, now, pool.spot, pool.vm_size, join_token, state)
        return [self._record(name) for name in names]

    def delete(self, pool: PoolTarget, names: list[str]) -> None:
        self.calls.append(("delete", pool.pool, tuple(names)))
        self._maybe_throttle()
        for name in names:
            node = self.nodes.get(name)
            if node is not None and node.pool == pool.pool:
                del self.nodes[name]

    def list(self, pool: PoolTarget) -> list[ProvisionedNode]:
        self.calls.append(("list", pool.pool, ()))
        self._maybe_throttle()
        return [self._record(name) for name in sorted(self.nodes) if self.nodes[name].pool == pool.pool]

    def evict(self, name: str) -> None:
        """What a Spot eviction with the Deallocate policy leaves behind: a stopped node that still bills
        for its disk (with the Delete policy the node simply disappears: ``del nodes[name]``)."""
        self.nodes[name].state = "Deallocated"

    def _maybe_throttle(self) -> None:
        if self._throttle:
            retry_after = self._throttle.pop(0)
            raise Throttled(f"throttled: retry in {retry_after:g} s", retry_after=retry_after)

    def _record(self, name: str) -> ProvisionedNode:
        node = self.nodes[name]
        booted = self.clock() - node.created_at >= self.boot_delay
        state: NodeState = node.state or ("Running" if booted else "Provisioning")
        return ProvisionedNode(
            name=name,
            pool=node.pool,
            state=state,
            created_at=node.created_at,
            spot=node.spot,
            vm_size=node.vm_size,
        )
