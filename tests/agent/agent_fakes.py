"""A first-class fake of the agent protocol's service side, in memory, for driving the agent step by step.

It keeps the rules that matter to an agent: leases carry attempts, a result counts once for the current
attempt, unknown nodes get NotFound, offline nodes drain, canceled tasks and stale attempts are announced to their node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hpcburst.domain.protocol import (
    HeartbeatRequest,
    HeartbeatResponse,
    Lease,
    LeaseRequest,
    LeaseResponse,
    RegisterRequest,
    RegisterResponse,
    ReportRequest,
    ReportResponse,
    TaskResult,
)
from hpcburst.domain.states import NodeState
from hpcburst.errors import ClusterUnreachable, NotFound

if TYPE_CHECKING:
    from hpcburst.storage.blob.port import BlobStore
    from nodeagent.agent import Agent


@dataclass
class FakeService:
    per_slot: int = 1  # leases handed out per free slot (more than 1: "tiny tasks")
    output_url: str | None = None
    queued: list[Lease] = field(default_factory=list)
    leased: dict[str, tuple[str, int]] = field(default_factory=dict)  # task -> (node, attempt)
    results: dict[str, TaskResult] = field(default_factory=dict)
    nodes: dict[str, NodeState] = field(default_factory=dict)
    cancel: set[str] = field(default_factory=set)
    lease_calls: list[LeaseRequest] = field(default_factory=list)
    heartbeats: list[HeartbeatRequest] = field(default_factory=list)
    fail_next: int = 0  # calls to fail as if the service were down

    def api(self, url: str, token: str | None = None) -> FakeService:
        return self  # every agent thread shares this one fake

    def add(self, job: str, command: str, count: int = 1, start: int = 0, **fields: object) -> list[str]:
        keys = []
        for index in range(start, start + count):
            key = f"{job}.1.{index}"
            self.queued.append(
                Lease(
                    task=key,
                    job=job,
                    task_id=1,
                    index=index,
                    attempt=1,
                    retry_count=0,
                    job_name=job,
                    command=command.replace("*", str(index)),
                    **fields,
                )  # fmt: skip
            )
            keys.append(key)
        return keys

    def _up(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ClusterUnreachable("the fake service is down")

    def _known(self, node: str) -> None:
        if node not in self.nodes:
            raise NotFound(f"node {node} is not registered")

    def register(self, request: RegisterRequest) -> RegisterResponse:
        self._up()
        self.nodes.setdefault(request.node, NodeState.ONLINE)
        return RegisterResponse(node=request.node, pool=request.pool, state=self.nodes[request.node],
                                heartbeat_interval=1.0, node_timeout=10.0, max_lease_wait=0.0)  # fmt: skip

    def heartbeat(self, request: HeartbeatRequest) -> HeartbeatResponse:
        self._up()
        self._known(request.node)
        self.heartbeats.append(request)
        state = self.nodes[request.node]
        mine = {t for t, (n, _) in self.leased.items() if n == request.node}
        # Like the service: a ref that is not the node's current attempt is named too (by task key only).
        stale = {r.task for r in request.running if self.leased.get(r.task) != (request.node, r.attempt)}
        return HeartbeatResponse(
            state=state, drain=state != NodeState.ONLINE, cancel=sorted(self.cancel & mine | stale)
        )

    def lease(self, request: LeaseRequest) -> LeaseResponse:
        self._up()
        self._known(request.node)
        self.lease_calls.append(request)
        drain = self.nodes[request.node] != NodeState.ONLINE
        count = 0 if drain else request.free_slots * self.per_slot
        given, self.queued = self.queued[:count], self.queued[count:]
        for lease in given:
            self.leased[lease.task] = (request.node, lease.attempt)
        return LeaseResponse(leases=given, drain=drain, output_url=self.output_url, output_prefix="out/")

    def report(self, request: ReportRequest) -> ReportResponse:
        self._up()
        self._known(request.node)
        accepted, ignored = [], []
        for result in request.results:
            holder = self.leased.get(result.task)
            if holder == (request.node, result.attempt) and result.task not in self.results:
                self.results[result.task] = result
                accepted.append(result.task)
            else:
                ignored.append(result.task)
        return ReportResponse(accepted=accepted, ignored=ignored)

    def close(self) -> None:
        pass


def run_until_reported(agent: Agent, service: FakeService, count: int) -> None:
    """Lease, run and report until the service holds ``count`` results (bounded, no sleeps)."""
    for _ in range(2000):
        if len(service.results) >= count:
            return
        agent.lease_once(wait=0)
        agent.step(0.05)
        agent.report_once()
    raise AssertionError(f"only {len(service.results)} of {count} results reported")


def read_ref(blobs: BlobStore, ref: object) -> bytes:
    return blobs.download_range(ref.container, ref.blob, ref.offset, ref.length)  # type: ignore[attr-defined]
