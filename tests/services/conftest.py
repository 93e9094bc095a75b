"""Services on a real state store (a SQLite file, and the local Cosmos DB server), with a clock the test
moves and a recording orchestration port."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.cosmos import CosmosClient
from principals import ADMIN, joiner

from hpcburst.domain.identity import CredentialKind, Principal
from hpcburst.domain.job import JobSpec
from hpcburst.domain.protocol import LeaseRequest, RegisterRequest, ReportRequest, TaskResult
from hpcburst.domain.task import TaskView
from hpcburst.services.orchestrations import RecordingOrchestrations
from hpcburst.services.root import Services, build
from hpcburst.storage.state.cosmos import CosmosStateStore
from hpcburst.storage.state.port import StateStore
from hpcburst.storage.state.sqlite import SqliteStateStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Cluster:
    """The services plus the verbs tests speak in."""

    def __init__(self, services: Services, clock: Clock) -> None:
        self.s, self.clock = services, clock
        self.orch = RecordingOrchestrations()
        self.registered: set[tuple[str, str]] = set()

    def submit(self, **spec: Any) -> str:
        spec.setdefault("tasks", [{"command": "echo *", "sweep": {"start": 1, "end": 4}}])
        return asyncio.run(self.s.jobs.submit(JobSpec.model_validate(spec), self.orch, owner="tester")).id

    def register(self, node: str, slots: int = 2, pool: str = "default", cloud: bool = False) -> None:
        """Join with the pool's secret the first time, then (an agent restart) with the node's credential."""
        known = (pool, node) in self.registered
        who = Principal(kind=CredentialKind.NODE, name=node, pool=pool) if known else joiner(pool)
        self.s.nodes.register(RegisterRequest(node=node, pool=pool, slots=slots, cloud=cloud), who)
        self.registered.add((pool, node))

    def lease(self, node: str, slots: int = 2, pool: str = "default", wait: float = 0.0, running=()):
        req = LeaseRequest(node=node, pool=pool, free_slots=slots, wait_seconds=wait, running=list(running))
        return asyncio.run(self.s.lease.lease(req))

    def report(self, node: str, *results: TaskResult):
        return self.s.report.report(ReportRequest(node=node, results=list(results)))

    def finish(self, node: str, lease, exit_code: int = 0, seconds: float = 1.0, **extra: Any):
        start = self.clock.now
        return self.report(
            node,
            TaskResult(
                task=lease.task,
                attempt=lease.attempt,
                exit_code=exit_code,
                started_at=start,
                ended_at=start + seconds,
                **extra,
            ),
        )

    def task(self, job: str, ref: str) -> TaskView:
        return self.s.results.task(job, ref, ADMIN)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "cosmos"])
def cluster(request, tmp_path, clock) -> Iterator[Cluster]:
    """The same specification holds on both real state stores."""
    if request.param == "cosmos":
        server = request.getfixturevalue("cosmos_server")
        database = f"services-{uuid.uuid4().hex[:8]}"
        store: StateStore = CosmosStateStore(
            server.endpoint, server.key, database, verify_tls=False, emulator=True
        )
    else:
        store = SqliteStateStore(tmp_path / "state.db")
    services = build(store, clock=clock, node_timeout=10.0)
    yield Cluster(services, clock)
    services.close()
    if request.param == "cosmos":
        with CosmosClient(server.endpoint, credential=server.key, connection_verify=False) as client:
            client.delete_database(database)


def pytest_collection_modifyitems(items):
    # The local Cosmos server has a self-signed certificate.
    for item in items:
        if "tests/services" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore:Unverified HTTPS request"))
