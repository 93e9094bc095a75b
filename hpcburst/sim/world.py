"""What the simulator knows: jobs and their indices, cloud nodes, running tasks, bills and churn.

Billing follows the ledger's rule: a node costs price × its lifetime, never less than the billing horizon.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from hpcburst.domain.burst import NodeState

ONPREM = "on-premises"


@dataclass
class SimJob:
    submit_time: float
    indices: int
    duration: float
    never_burst: bool
    submitted: bool = False
    queued: int = 0
    running: int = 0
    finished: int = 0
    first_starts: int = 0


@dataclass
class SimNode:
    name: str
    created_at: float
    slots: int
    price_per_hour: float
    horizon: float
    spot: bool
    boot_timeout: float
    state: NodeState = NodeState.PROVISIONING
    registered_at: float | None = None
    last_busy_at: float | None = None
    running: int = 0
    gone_at: float | None = None
    gone_cause: str = ""

    def billed_until(self, now: float) -> float:
        return now if self.gone_at is None else max(self.gone_at, self.created_at + self.horizon)

    def cost(self, t0: float, t1: float) -> float:
        stop = min(t1, self.billed_until(t1))
        return max(0.0, stop - max(t0, self.created_at)) * self.price_per_hour / 3600.0


@dataclass
class Task:
    id: int
    job: int
    place: str
    started_at: float
    duration: float


@dataclass
class World:
    jobs: list[SimJob]
    onprem_slots: int
    onprem_running: int = 0
    nodes: dict[str, SimNode] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)
    evictions: list[float] = field(default_factory=list)
    deletes: list[tuple[float, str, str]] = field(default_factory=list)  # (at, node, cause)
    all_done_at: float | None = None
    ended_at: float = 0.0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def submit(self, i: int, now: float) -> None:
        job = self.jobs[i]
        job.submitted, job.queued = True, job.indices
        self.all_done_at = None

    def live_nodes(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.gone_at is None]

    def backlog(self) -> int:
        return sum(j.queued for j in self.jobs)

    def dispatch(self, now: float, started: Callable[[Task], None]) -> None:
        """Fake agents: fill free on-premises slots, then free slots on Online cloud nodes, FIFO."""
        while self.onprem_running < self.onprem_slots and self._lease(ONPREM, now, started):
            self.onprem_running += 1
        for node in self.live_nodes():
            while (
                node.state == NodeState.ONLINE
                and node.running < node.slots
                and self._lease(node.name, now, started)
            ):
                node.running += 1
                node.last_busy_at = now

    def _lease(self, place: str, now: float, started: Callable[[Task], None]) -> bool:
        for i, job in enumerate(self.jobs):
            if job.queued and (place == ONPREM or not job.never_burst):
                job.queued, job.running = job.queued - 1, job.running + 1
                if job.first_starts < job.indices:
                    job.first_starts += 1
                    self.waits.append(now - job.submit_time)
                task = Task(id=next(self._ids), job=i, place=place, started_at=now, duration=job.duration)
                self.tasks[task.id] = task
                started(task)
                return True
        return False

    def finish(self, task_id: int, now: float) -> None:
        task = self.tasks.pop(task_id, None)
        if task is None:  # its node was evicted or deleted: the index went back to the queue
            return
        job = self.jobs[task.job]
        job.running, job.finished = job.running - 1, job.finished + 1
        if task.place == ONPREM:
            self.onprem_running -= 1
        else:
            node = self.nodes[task.place]
            node.running -= 1
            node.last_busy_at = now
        if all(j.submitted and j.finished == j.indices for j in self.jobs):
            self.all_done_at = now

    def register(self, name: str, now: float) -> None:
        node = self.nodes.get(name)
        if node is not None and node.gone_at is None and node.state == NodeState.PROVISIONING:
            node.state, node.registered_at, node.last_busy_at = NodeState.ONLINE, now, now

    def drain(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is not None and node.gone_at is None:
            node.state = NodeState.DRAINING

    def resume(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is not None and node.gone_at is None and node.state == NodeState.DRAINING:
            node.state = NodeState.ONLINE

    def delete(self, name: str, now: float, cause: str) -> None:
        node = self.nodes.get(name)
        if node is None or node.gone_at is not None:
            return
        self._requeue(name)
        node.gone_at, node.gone_cause, node.state, node.running = now, cause, NodeState.STOPPED, 0
        self.deletes.append((now, name, cause))

    def evict(self, name: str, now: float) -> None:
        node = self.nodes.get(name)
        if node is not None and node.gone_at is None:
            self.evictions.append(now)
            self.delete(name, now, "evicted")

    def _requeue(self, place: str) -> None:
        for task in [t for t in self.tasks.values() if t.place == place]:
            job = self.jobs[task.job]
            job.running, job.queued = job.running - 1, job.queued + 1
            del self.tasks[task.id]

    def spend(self, t0: float, t1: float) -> float:
        return sum(n.cost(t0, t1) for n in self.nodes.values())

    def close(self, now: float) -> None:
        """End of the simulation: nodes still alive stop billing now (or at their minimum horizon)."""
        self.ended_at = now
        for node in self.live_nodes():
            node.gone_at, node.gone_cause = now, "end"
