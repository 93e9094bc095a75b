"""The event loop: a simulated clock, a heap of events, fake agents, and a controller that decides.

Agents lease queued indices FIFO: on-premises slots take any index, Online cloud nodes only indices that
may burst. The controller is asked on every submit, every ``tick`` seconds, and at every node's boot
deadline (the real runtime sets a timer there too). Invariants are checked after every event.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from hpcburst.domain.burst import (
    Action,
    BurstPool,
    Create,
    Delete,
    Disable,
    Drain,
    NodeState,
    Resume,
    SwitchToRegular,
)
from hpcburst.sim.invariants import InvariantViolation, check
from hpcburst.sim.provisioner import FakeProvisioner
from hpcburst.sim.world import SimJob, SimNode, Task, World

__all__ = ["Controller", "InvariantViolation", "SimConfig", "Simulation"]


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    pool: BurstPool
    onprem_slots: int = 8
    tick: float = 30.0
    boot_mean: float = 120.0
    boot_sigma: float = 0.4
    boot_hang_rate: float = 0.03  # share of creates that never register
    evictions_per_hour: float = 0.0  # per spot node
    seed: int = 0
    linger: float = 7200.0  # after the last index finishes, how long nodes may take to wind down


class Controller(Protocol):
    name: str
    checks_policy_invariants: bool

    def on_event(self, sim: Simulation, now: float, cause: str) -> list[Action]: ...

    def settled(self, sim: Simulation) -> bool: ...


class Simulation:
    def __init__(self, config: SimConfig, jobs: list[SimJob], controller: Controller) -> None:
        self.config = config
        self.pool = config.pool
        self.controller = controller
        self.world = World(jobs=jobs, onprem_slots=config.onprem_slots)
        self.provisioner = FakeProvisioner(config)
        self.now = 0.0
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = itertools.count()
        self.observers: list[Callable[[Simulation], None]] = []

    def at(self, when: float, kind: str, key: str = "") -> None:
        heapq.heappush(self._heap, (when, next(self._seq), kind, key))

    def run(self) -> World:
        for i, job in enumerate(self.world.jobs):
            self.at(job.submit_time, "submit", str(i))
        self.at(0.0, "tick")
        while self._heap:
            when, _, kind, key = heapq.heappop(self._heap)
            self.now = when
            if self._finished():
                break
            self._handle(kind, key)
            self.world.dispatch(self.now, self._start)
            check(self)
            for observe in self.observers:
                observe(self)
        self.world.close(self.now)
        return self.world

    def _finished(self) -> bool:
        w = self.world
        done_at = w.all_done_at
        return done_at is not None and (
            self.controller.settled(self) or self.now > done_at + self.config.linger
        )

    def _handle(self, kind: str, key: str) -> None:
        if kind == "submit":
            self.world.submit(int(key), self.now)
            self._ask("submit")
        elif kind == "tick":
            self._ask("tick")
            self.at(self.now + self.config.tick, "tick")
        elif kind == "deadline":
            self._ask("deadline")
        elif kind == "boot":
            self.world.register(key, self.now)
        elif kind == "evict":
            self.world.evict(key, self.now)
        elif kind == "done":
            self.world.finish(int(key), self.now)

    def _ask(self, cause: str) -> None:
        for action in self.controller.on_event(self, self.now, cause):
            self.carry_out(action)

    def carry_out(self, action: Action, preboot: bool = False) -> None:
        if isinstance(action, Create):
            for name in action.names:
                self._create(name, preboot)
        elif isinstance(action, Drain):
            self.world.drain(action.node)
        elif isinstance(action, Resume):
            self.world.resume(action.node)
        elif isinstance(action, Delete):
            self.world.delete(action.node, self.now, action.cause)
        elif isinstance(action, Disable):
            self.pool = self.pool.model_copy(update={"disabled_reason": action.reason})
        elif isinstance(action, SwitchToRegular):
            price = self.pool.regular_price_per_hour or self.pool.price_per_hour
            self.pool = self.pool.model_copy(update={"spot": False, "price_per_hour": price})

    def _create(self, name: str, preboot: bool) -> None:
        p = self.pool
        node = SimNode(name=name, created_at=self.now, slots=p.slots_per_node, price_per_hour=p.price_per_hour,
                       horizon=p.billing_horizon, spot=p.spot, boot_timeout=p.boot_timeout)  # fmt: skip
        self.world.nodes[name] = node
        if preboot:
            self.world.register(name, self.now)
            return
        boot = self.provisioner.boot_delay()
        if boot is not None:
            self.at(self.now + boot, "boot", name)
        self.at(self.now + p.boot_timeout, "deadline", name)
        eviction = self.provisioner.eviction_delay() if p.spot else None
        if eviction is not None:
            self.at(self.now + eviction, "evict", name)

    def _start(self, task: Task) -> None:
        self.at(self.now + task.duration, "done", str(task.id))


def node_state_counts(sim: Simulation) -> dict[NodeState, int]:
    counts: dict[NodeState, int] = {}
    for node in sim.world.live_nodes():
        counts[node.state] = counts.get(node.state, 0) + 1
    return counts
