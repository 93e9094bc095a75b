"""The node agent <-> service protocol (bodies of POST /api/agent/{register,heartbeat,lease,report,grants}).

An agent registers, then loops: lease (long-poll) -> run each index -> report results in batches,
and heartbeats in the background. Every request names the node; an unknown node gets 404 and
re-registers. ``running`` lists what the agent is running so the service can tell it what to kill
(canceled, or re-leased elsewhere after the node was presumed dead): ``cancel_runs`` names each
(task, attempt), so an agent holding two attempts of one task (a finished one not yet acknowledged and its
retry) kills exactly the one meant. ``cancel`` (task keys only) is still sent for agents of the previous
release, which read nothing else; drop it in the release after.

Storage grants are least-privilege (``hpcburst.domain.grants``): no grant covers the account, none
lets a node delete or list outputs. A lease carries per-blob SAS URLs (``Lease.grants``: read for its
inputs, create/write for its named outputs); glob outputs and expired grants are asked for with
``GrantsRequest``. Register, lease and report answers carry the next ``segment`` grant (one blob under
the node's own prefix ``nodes/<pool>/<node>/`` in ``hpc-output``) and ``packages_url`` (read+list on the
package container). An agent with its own storage connection may use that instead.

Giving work back: a result with ``evicted`` (e.g. the VM is being preempted) re-queues its index at once,
without counting a retry, instead of after the node timeout.

Outputs: the agent packs the non-empty stdout/stderr of a report batch into a segment blob and reports
an ``OutputRef`` (offset/length) per stream; the service keeps only refs inside the node's own prefix.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hpcburst.domain.grants import SegmentGrant
from hpcburst.domain.node_steps import LeftJob, NodeStep, NodeStepResult
from hpcburst.domain.soa.protocol import HostStart
from hpcburst.domain.staging import InputFile, OutputFile
from hpcburst.domain.states import NodeState
from hpcburst.domain.task import OutputRef

# Names become store ids and log text: no path or URL delimiters, no control characters.
_NAME_PATTERN = r"^[^/\\?#\x00-\x1f\x7f]+$"
_NODE = Field(min_length=1, max_length=200, pattern=_NAME_PATTERN)


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer agents may send more


class RunningRef(BaseModel):
    task: str  # task key "job.task.index"
    attempt: int


class RegisterRequest(_Request):
    node: str = _NODE
    pool: str = Field(default="default", min_length=1, max_length=100, pattern=_NAME_PATTERN)
    slots: int = Field(ge=1, le=4096)
    hostname: str | None = None
    cloud: bool = False


class RegisterResponse(BaseModel):
    node: str
    pool: str
    state: NodeState
    heartbeat_interval: float  # seconds between heartbeats
    node_timeout: float  # heartbeats missing this long: the node's work is re-queued
    max_lease_wait: float  # longest wait_seconds a lease call honours
    # Storage grants, so a node holding no storage key can work from the start (None: the service holds
    # no key to sign with; the node then needs its own connection).
    segment: SegmentGrant | None = None  # where the agent's next stdout/stderr segment goes
    packages_url: str | None = None  # the package container with a read+list SAS
    # A new per-node credential (bound to this pool and node) when the caller joined with the pool's join
    # secret; None when it re-registered with its own. Heartbeat, lease and report need it.
    credential: str | None = None


class HeartbeatRequest(_Request):
    node: str = _NODE
    pool: str = "default"
    running: list[RunningRef] = Field(default_factory=list)
    jobs: list[str] = Field(
        default_factory=list, max_length=10_000
    )  # jobs it keeps NodePrep/Release state for


class _Cancels(BaseModel):
    """What to kill now (process tree): each (task, attempt) the agent sent that is not the node's current
    attempt any more. ``cancel`` repeats their task keys for older agents (deprecated, see the module)."""

    cancel_runs: list[RunningRef] = Field(default_factory=list)
    cancel: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _keys_for_older_agents(self) -> Self:
        if self.cancel_runs and not self.cancel:
            self.cancel = list(dict.fromkeys(r.task for r in self.cancel_runs))
        return self


class HeartbeatResponse(_Cancels):
    state: NodeState
    drain: bool  # True: finish what runs, lease nothing new (node taken offline)
    left: list[LeftJob] = Field(default_factory=list)  # of ``jobs``, those that ended: release or forget


class LeaseRequest(_Request):
    node: str = _NODE
    pool: str = "default"
    free_slots: int = Field(ge=0, le=4096)
    wait_seconds: float = Field(default=0.0, ge=0.0, le=120.0)
    running: list[RunningRef] = Field(default_factory=list)
    slots: int | None = Field(default=None, ge=1, le=4096)  # all the node's slots: its share of SOA capacity


class Lease(BaseModel):
    """One index to run now. ``attempt`` must come back in the report."""

    task: str  # task key "job.task.index"
    job: str
    task_id: int  # CCP_TASKID
    index: int  # CCP_TASKINSTANCEID
    attempt: int
    retry_count: int  # CCP_RETRY_COUNT
    job_name: str  # CCP_JOBNAME
    owner: str = ""  # the submitting user: the agent maps it to the local account the task runs as
    shared_workdir: bool = False  # run in the job's shared directory on the node, not a fresh one per index
    command: str  # substituted command line, run by the shell
    environment: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None  # substituted
    stdout: str | None = None  # substituted file path on the node, if the user asked for one
    stderr: str | None = None
    max_run_time: float | None = None  # seconds; kill the process tree after
    input_files: list[InputFile] = Field(default_factory=list)  # substituted
    output_files: list[OutputFile] = Field(default_factory=list)
    # "container/path" -> per-blob SAS URL: read for each input, create+write for each non-glob output
    grants: dict[str, str] = Field(default_factory=dict)
    # The job's NodePrep (run once on this node before its first index) and NodeRelease (kept, run when
    # the job leaves the node): ``hpcburst.domain.node_steps``.
    node_prep: NodeStep | None = None
    node_release: NodeStep | None = None


class LeaseResponse(_Cancels):
    leases: list[Lease] = Field(default_factory=list)
    hosts: list[HostStart] = Field(default_factory=list)  # SOA service hosts to start, one free slot each
    drain: bool = False
    segment: SegmentGrant | None = None
    packages_url: str | None = None


class TaskResult(BaseModel):
    task: str
    attempt: int
    exit_code: int | None = None  # None: the process could not be started (see message)
    started_at: float | None = None  # epoch seconds
    ended_at: float | None = None
    timed_out: bool = False  # killed after max_run_time
    stdout: OutputRef | None = None
    stderr: OutputRef | None = None
    message: str | None = None
    # Not run to completion: give it back. The service re-queues the attempt at once (no retry counted);
    # ``reason`` says why ("spot eviction") and lands in the index's message.
    evicted: bool = False
    reason: str | None = Field(default=None, max_length=200)


class ReportRequest(_Request):
    node: str = _NODE
    pool: str = "default"
    results: list[TaskResult] = Field(max_length=100_000)
    node_steps: list[NodeStepResult] = Field(default_factory=list, max_length=10_000)  # recorded first


class ReportResponse(BaseModel):
    accepted: list[str] = Field(default_factory=list)  # results recorded (or retried) now
    steps_accepted: int = 0  # node steps recorded (or for jobs gone): stop resending them
    ignored: list[str] = Field(default_factory=list)  # stale attempt, not the leaseholder, or duplicate
    segment: SegmentGrant | None = None  # the grant for the agent's next segment blob


class GrantsRequest(_Request):
    """More grants: for one held attempt (``task``/``attempt``) its glob outputs (workdir-relative paths
    that matched an output pattern) and expired input or output grants; and/or ``segments`` fresh
    segment grants (big report batches). Anything outside the lease is 403, naming the path."""

    node: str = _NODE
    pool: str = "default"
    task: str | None = None  # task key; needed for inputs and outputs
    attempt: int = 0
    inputs: list[str] = Field(default_factory=list, max_length=1000)  # blob refs "container/path"
    outputs: list[str] = Field(default_factory=list, max_length=10_000)  # workdir-relative paths
    segments: int = Field(default=0, ge=0, le=16)


class GrantsResponse(BaseModel):
    grants: dict[str, str] = Field(default_factory=dict)  # "container/path" -> per-blob SAS URL
    segments: list[SegmentGrant] = Field(default_factory=list)
