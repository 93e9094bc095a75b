"""What an agent holds, shared by its threads: leased work waiting for a slot, running work, unreported results.

Every index the service leased to this node is in exactly one place here until its result is acknowledged:
``staging`` (inputs being placed) -> ``backlog`` (leased, not started) -> ``running`` -> ``unreported``.
All access goes through the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from hpcburst.domain.protocol import Lease, RunningRef
from nodeagent.runner import RunResult

RunKey = tuple[str, int]  # (task key, attempt)


@dataclass(frozen=True)
class Held:
    """A lease the node holds (its storage grants ride in ``lease.grants``)."""

    lease: Lease

    @property
    def key(self) -> RunKey:
        return (self.lease.task, self.lease.attempt)


@dataclass(frozen=True)
class Finished:
    held: Held
    result: RunResult
    evicted: str | None = None  # given back unfinished, and why ("spot eviction"): reported as ``evicted``


@dataclass
class Ledger:
    slots: int
    backlog: deque[Held] = field(default_factory=deque)
    running: dict[RunKey, Held] = field(default_factory=dict)
    staging: dict[RunKey, Held] = field(default_factory=dict)  # inputs being placed before it may start
    unreported: deque[Finished] = field(default_factory=deque)
    cancels: dict[str, int] = field(default_factory=dict)  # task key -> kill attempts up to this one
    drain: bool = False
    stopping: bool = False
    evicting: bool = False  # the VM is going away: lease and start nothing more (``Agent.evict``)
    swapping: int = (
        0  # package swaps waiting for running tasks to end: start nothing new (``Agent.between_tasks``)
    )
    lock: threading.Condition = field(default_factory=threading.Condition)

    def free_slots(self) -> int:
        """Slots with nothing to run next (running and queued-here work both count as taken)."""
        return max(0, self.slots - len(self.running) - len(self.backlog) - len(self.staging))

    def refs(self, processes_only: bool = False) -> list[RunningRef]:
        """What this node holds (or only its running processes: at most ``slots``, cheap to send often)."""
        held = list(self.running.values())
        if not processes_only:
            held += [f.held for f in self.unreported] + list(self.backlog) + list(self.staging.values())
        return [RunningRef(task=h.lease.task, attempt=h.lease.attempt) for h in held]

    def cancel(self, tasks: list[str], sent: list[RunningRef]) -> None:
        """Note the service's cancels, which answer the refs ``sent``: a newer attempt of the same task
        (leased in the same response, e.g. a retry) is not what the service meant.

        A cancel names only the task, so when ``sent`` held two attempts of it (a finished one not yet
        acknowledged and its retry, already leased) it means the older: the retry is the service's current
        attempt. Were it canceled too, the next call, which lists it alone, says so."""
        attempts: dict[str, int] = {}
        for r in sent:
            attempts[r.task] = min(r.attempt, attempts.get(r.task, r.attempt))
        for task in tasks:
            if task in attempts:
                self.cancels[task] = max(self.cancels.get(task, 0), attempts[task])

    def take_cancels(self) -> dict[str, int]:
        """The cancels to apply now; canceled backlog and staging entries are simply dropped (never started;
        staging that ends later finds nothing to place)."""
        cancels, self.cancels = self.cancels, {}
        if cancels and self.backlog:
            self.backlog = deque(h for h in self.backlog if not canceled(cancels, h.key))
        if cancels and self.staging:
            self.staging = {k: h for k, h in self.staging.items() if not canceled(cancels, k)}
        return cancels


def canceled(cancels: dict[str, int], key: RunKey) -> bool:
    task, attempt = key
    return task in cancels and attempt <= cancels[task]
