"""A first-class fake of the agent protocol's service side, in memory, for driving the agent step by step.

It keeps the rules that matter to an agent (the SOA poll's are in ``soa_fakes.FakeBroker``): leases carry attempts, a result counts once for the current
attempt (an ``evicted`` one re-queues the index with the next attempt), unknown nodes get NotFound, offline nodes drain, canceled tasks and stale attempts are announced to their node.
With a ``signer`` (a real blob store holding the key) it hands out real grants as the service does: a segment
grant with every register, lease and report answer, per-blob grants in leases and on request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from soa_fakes import FakeBroker

from hpcburst.domain.grants import (
    READ,
    WRITE,
    SegmentGrant,
    input_refs,
    named_outputs,
    node_prefix,
    output_destinations,
    writable,
)
from hpcburst.domain.node_steps import LeftJob, NodeStepResult
from hpcburst.domain.protocol import (
    GrantsRequest,
    GrantsResponse,
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
from hpcburst.domain.soa.protocol import SoaPoll, SoaPollAnswer
from hpcburst.domain.staging import parse_location
from hpcburst.domain.states import NodeState
from hpcburst.errors import ClusterUnreachable, Forbidden, NotFound
from hpcburst.storage.blob.port import BlobStore

if TYPE_CHECKING:
    from hpcburst.storage.blob.port import BlobStore
    from nodeagent.agent import Agent


@dataclass
class FakeService:
    per_slot: int = 1  # leases handed out per free slot (more than 1: "tiny tasks")
    signer: BlobStore | None = None  # signs grants; None: hand out none
    grant_lifetime: timedelta = timedelta(hours=1)
    queued: list[Lease] = field(default_factory=list)
    leased: dict[str, tuple[str, int]] = field(default_factory=dict)  # task -> (node, attempt)
    results: dict[str, TaskResult] = field(default_factory=dict)
    given_back: list[TaskResult] = field(default_factory=list)  # ``evicted`` results, re-queued at once
    nodes: dict[str, NodeState] = field(default_factory=dict)
    cancel: set[str] = field(default_factory=set)
    lease_calls: list[LeaseRequest] = field(default_factory=list)
    grant_calls: list[GrantsRequest] = field(default_factory=list)
    heartbeats: list[HeartbeatRequest] = field(default_factory=list)
    by_key: dict[str, Lease] = field(default_factory=dict)
    fail_next: int = 0  # calls to fail as if the service were down
    steps: list[NodeStepResult] = field(default_factory=list)  # NodePrep/NodeRelease results reported
    left: dict[str, bool] = field(default_factory=dict)  # job -> run its NodeRelease: it left the nodes
    broker: FakeBroker = field(default_factory=FakeBroker)  # the SOA side (``soa_fakes``)

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
                                heartbeat_interval=1.0, node_timeout=10.0, max_lease_wait=0.0,
                                segment=self._segment(request.pool, request.node))  # fmt: skip

    def heartbeat(self, request: HeartbeatRequest) -> HeartbeatResponse:
        self._up()
        self._known(request.node)
        self.heartbeats.append(request)
        state = self.nodes[request.node]
        # Like the service: each (task, attempt) sent that is canceled or not the node's current attempt.
        cancel = [
            r
            for r in request.running
            if r.task in self.cancel or self.leased.get(r.task) != (request.node, r.attempt)
        ]
        left = [LeftJob(job=j, release=self.left[j]) for j in request.jobs if j in self.left]
        return HeartbeatResponse(state=state, drain=state != NodeState.ONLINE, cancel_runs=cancel, left=left)

    def lease(self, request: LeaseRequest) -> LeaseResponse:
        self._up()
        self._known(request.node)
        self.lease_calls.append(request)
        drain = self.nodes[request.node] != NodeState.ONLINE
        count = 0 if drain else request.free_slots * self.per_slot
        given, self.queued = self.queued[:count], self.queued[count:]
        for lease in given:
            self.leased[lease.task] = (request.node, lease.attempt)
        given = [lease.model_copy(update={"grants": self._lease_grants(lease)}) for lease in given]
        hosts = [] if drain else self.broker.place(request.free_slots - len(given))
        segment = self._segment(request.pool, request.node) if given else None
        return LeaseResponse(leases=given, hosts=hosts, drain=drain, segment=segment)

    def soa(self, poll: SoaPoll) -> SoaPollAnswer:
        self._up()
        self._known(poll.node)
        return self.broker.poll(poll)

    def report(self, request: ReportRequest) -> ReportResponse:
        self._up()
        self._known(request.node)
        accepted, ignored = [], []
        self.steps += request.node_steps
        for result in request.results:
            holder = self.leased.get(result.task)
            if holder == (request.node, result.attempt) and result.evicted:  # given back: queued again
                self.given_back.append(result)
                del self.leased[result.task]
                lease = self.by_key[result.task]
                self.queued.append(lease.model_copy(update={"attempt": lease.attempt + 1, "grants": {}}))
                accepted.append(result.task)
            elif holder == (request.node, result.attempt) and result.task not in self.results:
                self.results[result.task] = result
                accepted.append(result.task)
            else:
                ignored.append(result.task)
        return ReportResponse(
            accepted=accepted,
            ignored=ignored,
            segment=self._segment(request.pool, request.node),
            steps_accepted=len(request.node_steps),
        )

    def grants(self, request: GrantsRequest) -> GrantsResponse:
        self._up()
        self._known(request.node)
        self.grant_calls.append(request)
        response = GrantsResponse()
        if request.inputs or request.outputs:
            lease = self._held(request)
            for ref in request.inputs:
                if ref not in input_refs(lease.input_files):
                    raise Forbidden(f"{ref!r} is not an input of {lease.task}", path=ref)
                response.grants[ref] = self._sign(ref, READ)
            for relative in request.outputs:
                for loc in output_destinations(lease.output_files, relative):
                    response.grants[str(loc)] = self._sign(str(loc), WRITE)
        response.segments = [
            s for s in (self._segment(request.pool, request.node) for _ in range(request.segments)) if s
        ]
        return response

    def _held(self, request: GrantsRequest) -> Lease:
        if self.leased.get(request.task or "") != (request.node, request.attempt):
            raise Forbidden(f"node {request.node} does not hold {request.task}")
        return self.by_key[request.task or ""]

    def _lease_grants(self, lease: Lease) -> dict[str, str]:
        self.by_key[lease.task] = lease
        if self.signer is None:
            return {}
        grants = {ref: self._sign(ref, READ) for ref in input_refs(lease.input_files)}
        named = [ref for ref in named_outputs(lease.output_files) if writable(parse_location(ref))]
        return grants | {ref: self._sign(ref, WRITE) for ref in named}

    def _sign(self, ref: str, permission: str) -> str:
        assert self.signer is not None
        container, _, path = ref.partition("/")
        return self.signer.sas_url(container, path, permission, self.grant_lifetime)

    def _segment(self, pool: str, node: str) -> SegmentGrant | None:
        if self.signer is None:
            return None
        blob = f"{node_prefix(pool, node)}{uuid.uuid4().hex}.seg"
        return SegmentGrant(blob=blob, url=self._sign(f"hpc-output/{blob}", WRITE))

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
