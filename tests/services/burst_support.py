"""A cluster with a burst controller on a real state store, an in-memory provisioner and a clock the test
moves; verbs for the burst specifications (tests/services/test_burst_*.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from principals import joiner

from hpcburst.domain.burst import Decision
from hpcburst.domain.burst.record import BurstRecord
from hpcburst.domain.identity import CredentialKind, Principal
from hpcburst.domain.job import JobSpec
from hpcburst.domain.pool import BurstSettings, PoolSpec
from hpcburst.domain.protocol import LeaseRequest, RegisterRequest, ReportRequest, TaskResult
from hpcburst.provisioners.factory import Provisioners
from hpcburst.provisioners.memory import MemoryProvisioner
from hpcburst.services.orchestrations import RecordingOrchestrations
from hpcburst.services.root import Services, build
from hpcburst.storage.state.port import StateStore

START = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class BurstCluster:
    def __init__(self, store: StateStore) -> None:
        self.clock = Clock()
        self.cloud = MemoryProvisioner(clock=self.clock)
        self.s: Services = build(store, clock=self.clock, node_timeout=10.0,
                                 provisioners=Provisioners(env={}, made={"local": self.cloud}))  # fmt: skip
        self.orch = RecordingOrchestrations()
        self.known: set[str] = set()

    def pool(self, name: str = "cloud", **burst: Any) -> None:
        burst.setdefault("provisioner", "local")
        self.s.pools.create(name, PoolSpec(burst=BurstSettings(**burst)))

    def submit(self, indices: int = 8, **spec: Any) -> str:
        spec.setdefault("tasks", [{"command": "echo *", "sweep": {"start": 1, "end": indices}}])
        return asyncio.run(self.s.jobs.submit(JobSpec.model_validate(spec), self.orch, owner="tester")).id

    def tick(self, after: float = 0.0) -> Decision | None:
        self.clock.advance(after)
        return self.s.burst.tick()

    def record(self) -> BurstRecord:
        return self.s.burst.records.read()[0]

    def states(self) -> dict[str, str]:
        return {n.name: n.state.value for n in self.record().nodes}

    def boot(self, *names: str, pool: str = "cloud", slots: int = 2) -> None:
        """The named cloud nodes' agents register (with the pool's join secret), as a booted VM's would."""
        for name in names:
            who = (
                Principal(kind=CredentialKind.NODE, name=name, pool=pool)
                if name in self.known
                else joiner(pool)
            )
            req = RegisterRequest(node=name, pool=pool, slots=slots, cloud=True)
            self.s.nodes.register(req, who)
            self.known.add(name)

    def onprem(self, name: str, pool: str = "default", slots: int = 2) -> None:
        self.s.nodes.register(RegisterRequest(node=name, pool=pool, slots=slots), joiner(pool))

    def run_all(self, node: str, pool: str = "cloud", slots: int = 2) -> int:
        """Lease and finish everything this node may take, as its agent would; how many it ran."""
        ran = 0
        while True:
            req = LeaseRequest(node=node, pool=pool, free_slots=slots, wait_seconds=0)
            leases = asyncio.run(self.s.lease.lease(req)).leases
            if not leases:
                return ran
            now = self.clock.now
            results = [TaskResult(task=le.task, attempt=le.attempt, exit_code=0, started_at=now, ended_at=now + 1)
                       for le in leases]  # fmt: skip
            self.s.report.report(ReportRequest(node=node, results=results))
            ran += len(leases)

    def creates(self) -> list[tuple[str, ...]]:
        return [names for kind, _, names in self.cloud.calls if kind == "create"]

    def deletes(self) -> list[tuple[str, ...]]:
        return [names for kind, _, names in self.cloud.calls if kind == "delete"]
