"""What an agent holds, shared by its threads: leased work waiting for a slot, running work, unreported results.

Every index the service leased to this node is in exactly one place here until its result is acknowledged:
``staging`` (inputs being placed) -> ``backlog`` (leased, not started) -> ``running`` -> ``unreported``.
All access goes through the lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
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
    cancels: set[RunKey] = field(default_factory=set)  # (task key, attempt) to kill or drop
    drain: bool = False
    stopping: bool = False
    evicting: bool = False  # the VM is going away: lease and start nothing more (``Agent.evict``)
    hosts: int = 0  # SOA service hosts running: each holds a slot until it ends (``nodeagent.soa``)
    swapping: int = 0  # package swaps waiting for running tasks to end: start nothing new (``Ledger.quiet``)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def free_slots(self) -> int:
        """Slots with nothing to run next (running and queued-here work and service hosts count as taken)."""
        return max(0, self.slots - len(self.running) - len(self.backlog) - len(self.staging) - self.hosts)

    def refs(self, processes_only: bool = False) -> list[RunningRef]:
        """What this node holds (or only its running processes: at most ``slots``, cheap to send often)."""
        held = list(self.running.values())
        if not processes_only:
            held += [f.held for f in self.unreported] + list(self.backlog) + list(self.staging.values())
        return [RunningRef(task=h.lease.task, attempt=h.lease.attempt) for h in held]

    def cancel(self, runs: list[RunningRef]) -> None:
        """Note the service's cancels: each names the (task, attempt) to kill, so a newer attempt of the
        same task (a retry leased meanwhile) is never taken for it."""
        self.cancels.update((r.task, r.attempt) for r in runs)

    def take_cancels(self) -> set[RunKey]:
        """The cancels to apply now; canceled backlog and staging entries are simply dropped (never started;
        staging that ends later finds nothing to place)."""
        cancels, self.cancels = self.cancels, set()
        if cancels and self.backlog:
            self.backlog = deque(h for h in self.backlog if h.key not in cancels)
        if cancels and self.staging:
            self.staging = {k: h for k, h in self.staging.items() if k not in cancels}
        return cancels

    def give_back_all(self, reason: str) -> list[Held]:
        """The VM is going away (call under the lock): lease and start nothing more, and queue an ``evicted``
        result for every held index, running or not (a killed process's own result is then dropped: ``Agent.step``
        finds it no longer running); the indices given back."""
        self.evicting = True
        held = [*self.running.values(), *self.backlog, *self.staging.values()]
        self.running.clear()
        self.backlog.clear()
        self.staging.clear()  # staging that ends later finds nothing to place
        now = time.time()
        for h in held:
            self.cancels.add(h.key)
            self.unreported.append(Finished(h, RunResult(h.key, -9, now, now), evicted=reason))
        self.lock.notify_all()
        return held

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Start nothing new, and wait until nothing runs, for as long as the body lasts (a package swap)."""
        with self.lock:
            self.swapping += 1
            while self.running and not (self.stopping or self.evicting):
                self.lock.wait(0.5)
        try:
            yield
        finally:
            with self.lock:
                self.swapping -= 1
                self.lock.notify_all()
