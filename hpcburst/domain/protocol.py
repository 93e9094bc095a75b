"""The node agent <-> service protocol (bodies of POST /api/agent/{register,heartbeat,lease,report}).

An agent registers, then loops: lease (long-poll) -> run each index -> report results in batches,
and heartbeats in the background. Every request names the node; an unknown node gets 404 and
re-registers. ``running`` lists what the agent is running so the service can tell it what to kill
(canceled, or re-leased elsewhere after the node was presumed dead).

Outputs: the agent writes stdout/stderr bytes to blob storage (``output_url`` is a container URL
with a SAS, or None when the agent should use its own storage connection) and reports an
``OutputRef`` per stream. Small outputs of one report batch are packed into one segment blob
(``{output_prefix}{job}/{node}-{n}.seg``) with offset/length per index; empty output needs no ref.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hpcburst.domain.staging import InputFile, OutputFile
from hpcburst.domain.states import NodeState
from hpcburst.domain.task import OutputRef

_NODE = Field(min_length=1, max_length=200, pattern=r"^[^/\\?#]+$")


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer agents may send more


class RunningRef(BaseModel):
    task: str  # task key "job.task.index"
    attempt: int


class RegisterRequest(_Request):
    node: str = _NODE
    pool: str = Field(default="default", min_length=1, max_length=100, pattern=r"^[^/\\?#]+$")
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
    # The storage grant (the outputs container URL with a SAS), so a node holding no storage key can
    # read packages and inputs and write outputs from the start; None: use the node's own connection.
    output_url: str | None = None


class HeartbeatRequest(_Request):
    node: str = _NODE
    pool: str = "default"
    running: list[RunningRef] = Field(default_factory=list)


class HeartbeatResponse(BaseModel):
    state: NodeState
    drain: bool  # True: finish what runs, lease nothing new (node taken offline)
    cancel: list[str] = Field(default_factory=list)  # task keys to kill now (process tree)


class LeaseRequest(_Request):
    node: str = _NODE
    pool: str = "default"
    free_slots: int = Field(ge=0, le=4096)
    wait_seconds: float = Field(default=0.0, ge=0.0, le=120.0)
    running: list[RunningRef] = Field(default_factory=list)


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


class LeaseResponse(BaseModel):
    leases: list[Lease] = Field(default_factory=list)
    cancel: list[str] = Field(default_factory=list)
    drain: bool = False
    output_url: str | None = None
    output_prefix: str = ""


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


class ReportRequest(_Request):
    node: str = _NODE
    results: list[TaskResult] = Field(max_length=100_000)


class ReportResponse(BaseModel):
    accepted: list[str] = Field(default_factory=list)  # results recorded (or retried) now
    ignored: list[str] = Field(default_factory=list)  # stale attempt, not the leaseholder, or duplicate
