"""What a user submits (JobSpec with its TaskSpecs) and the stored job record (Job).

A job holds one or more tasks. A sweep task runs its command once per index of
``start..end`` by ``step``; a basic task (no sweep) runs once, as index 0, without substitution.
NodePrep and NodeRelease tasks run once per node (``hpcburst.domain.task_types``); tasks may depend on
others by name or by group (``hpcburst.domain.dependencies``). A spec without ``type`` is a sweep when it has
a ``sweep``, else basic: what every job was before task types.
Bad input raises pydantic's ValidationError; services turn it into InvalidSpec naming the field.
"""

from __future__ import annotations

import shlex
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from hpcburst.domain.identity import Principal
from hpcburst.domain.node_steps import NodeStep, NodeStepRecord
from hpcburst.domain.staging import InputFile, OutputFile
from hpcburst.domain.states import JobState, Priority
from hpcburst.domain.task_types import (
    NODE_RELEASE_DEFAULT_LIMIT,
    FieldError,
    GroupDependency,
    TaskType,
    parse_exit_codes,
)

# Caps, so nothing oversized reaches a state document (Cosmos DB allows 2 MB per document).
MAX_INDICES_PER_JOB = 10_000_000
MAX_TASKS_PER_JOB = 1000
MAX_COMMAND = 32 * 1024  # bytes of one command line (Linux allows 128 KiB per argument, cmd.exe 8 KiB)
MAX_ENV_VARS = 256
MAX_ENV_BYTES = 64 * 1024  # all names and values of one task
MAX_PATH = 1024
MAX_FILES = 1000  # input or output file specs per task
MAX_JOB_DOCUMENT = 1024 * 1024  # the whole job as stored
# The largest index a JSON number holds exactly: Cosmos DB and JavaScript clients store numbers as doubles.
MAX_INDEX = 2**53 - 1
_NAME = Field(default=None, max_length=200)
# What a request may send as a command: a command line, or argv (joined with shell quoting).
_COMMAND = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string"}, "minItems": 1},
    ]
}
_PATH = Field(default=None, max_length=MAX_PATH)


def checked_environment(value: dict[str, str]) -> dict[str, str]:
    """Variable names and sizes a process environment can take (a job's or a task's)."""
    if len(value) > MAX_ENV_VARS:
        raise ValueError(f"at most {MAX_ENV_VARS} environment variables, not {len(value)}")
    for key, item in value.items():
        if not key or "=" in key or "\0" in key or len(key) > 256:
            raise ValueError(f"environment variable name {key[:50]!r} is not valid")
        if "\0" in item:
            raise ValueError(f"environment variable {key!r} holds a NUL character")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
    if size > MAX_ENV_BYTES:
        raise ValueError(f"environment is {size} bytes; at most {MAX_ENV_BYTES}")
    return value


class SweepRange(BaseModel):
    """Indices start, start+step, ..., up to and including end (HPC Pack: StartValue/EndValue/IncrementValue)."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0, le=MAX_INDEX)
    end: int = Field(ge=0, le=MAX_INDEX)
    step: int = Field(default=1, gt=0, le=MAX_INDEX)

    @model_validator(mode="after")
    def _end_not_before_start(self) -> SweepRange:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must not be below start ({self.start})")
        return self


class TaskSpec(BaseModel):
    """One task of a job: a sweep (``sweep`` set), a basic task, or a per-node NodePrep/NodeRelease."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = _NAME
    type: TaskType | None = Field(default=None, description="None: ParametricSweep with a sweep, else Basic")
    command: Annotated[str, WithJsonSchema(_COMMAND, mode="validation")] = Field(
        min_length=1, max_length=MAX_COMMAND, description="command line, run by the shell; `*` is the index"
    )
    sweep: SweepRange | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = _PATH
    stdout: str | None = _PATH  # file path on the node (relative to workdir); `*` is the index
    stderr: str | None = _PATH
    max_run_time: float | None = Field(default=None, gt=0, description="seconds; the index is killed after")
    retries: int = Field(default=0, ge=0, le=100, description="re-runs of a failed index")
    max_running: int | None = Field(default=None, ge=1, description="cap on indices running at once")
    input_files: list[InputFile] = Field(default_factory=list, max_length=MAX_FILES)  # placed before
    output_files: list[OutputFile] = Field(default_factory=list, max_length=MAX_FILES)  # uploaded after
    # Pinned (clusrun): only this node may lease its indices; admins only (hpcburst.domain.pinning).
    node: str | None = Field(default=None, min_length=1, max_length=100)
    depends_on: list[str] = Field(default_factory=list, max_length=MAX_TASKS_PER_JOB)  # names of parent tasks
    group: int | None = Field(default=None, ge=0, description="XML task group (JobSpec.group_dependencies)")
    fail_job_on_failure: bool = Field(default=False, description="a failed index fails the job at once")
    valid_exit_codes: str | None = Field(default=None, max_length=1000, description="e.g. 0,3..5; unset: 0")

    @model_validator(mode="after")
    def _type_fits_sweep(self) -> TaskSpec:
        if self.type is None:
            self.type = TaskType.BASIC if self.sweep is None else TaskType.PARAMETRIC_SWEEP
        if (self.type == TaskType.PARAMETRIC_SWEEP) != (self.sweep is not None):
            raise ValueError(
                f"sweep: a {self.type.value} task " + ("needs one" if self.sweep is None else "has none")
            )
        if self.type.per_node and (self.max_running is not None or self.retries or self.fail_job_on_failure):
            raise ValueError(
                f"a {self.type.value} task runs once per node: no max_running, retries, fail_job_on_failure"
            )
        if self.type.per_node and (self.input_files or self.output_files or self.stdout or self.stderr):
            raise ValueError(f"a {self.type.value} task has no input_files, output_files, stdout or stderr")
        return self

    @field_validator("valid_exit_codes")
    @classmethod
    def _exit_code_syntax(cls, value: str | None) -> str | None:
        if value is not None:
            parse_exit_codes(value)
        return value

    @field_validator("command", mode="before")
    @classmethod
    def _argv_to_command_line(cls, value: Any) -> Any:
        # The CLI and SDK may pass argv; the scheduler keeps one command line (as HPC Pack does).
        if isinstance(value, list | tuple):
            if not value or not all(isinstance(v, str) for v in value):
                raise ValueError("command must be a command line or a non-empty list of strings (argv)")
            return shlex.join(value)
        return value

    @field_validator("command")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("command must not be blank")
        return value

    @field_validator("environment")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return checked_environment(value)


class JobSpec(BaseModel):
    """A job as submitted (HPC Pack: CreateJob + CreateTask + SubmitJob)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = _NAME
    owner: str | None = Field(default=None, max_length=200)
    priority: Priority | None = Field(default=None, description="default: the template's, else Normal")
    pool: str | None = Field(default=None, max_length=100, description="node group the job must run on")
    template: str | None = Field(default=None, max_length=100, description="job template (default: Default)")
    never_burst: bool = False  # keep this job on on-premises nodes: a cloud node never leases it
    # Each index runs in its own fresh directory on its node; True: a job's indices on a node share one
    # (``tasks/<job>/shared``), e.g. to reuse what an earlier index left behind.
    shared_workdir: bool = False
    environment: dict[str, str] = Field(default_factory=dict)  # every task's; a task's own override it
    runtime: float | None = Field(default=None, gt=0, description="seconds the job may run; then it fails")
    fail_dependent_tasks: bool = False  # a failed parent cancels its dependent tasks (else they still run)
    group_dependencies: list[GroupDependency] = Field(default_factory=list, max_length=MAX_TASKS_PER_JOB)
    tasks: list[TaskSpec] = Field(min_length=1, max_length=MAX_TASKS_PER_JOB)

    @field_validator("environment")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return checked_environment(value)

    @model_validator(mode="after")
    def _bounded(self) -> JobSpec:
        from hpcburst.domain.dependencies import parents_of
        from hpcburst.domain.sweep import index_count

        for kind in (TaskType.NODE_PREP, TaskType.NODE_RELEASE):
            if sum(t.type == kind for t in self.tasks) > 1:
                raise FieldError(f"a job has at most one {kind.value} task", "tasks")
        if not any(t.type is not None and not t.type.per_node for t in self.tasks):
            raise FieldError("a job needs a Basic or ParametricSweep task besides its node tasks", "tasks")
        parents_of(self.tasks, self.group_dependencies)  # DependencyError (a ValueError) names the field
        total = sum(index_count(t) for t in self.tasks)
        if total > MAX_INDICES_PER_JOB:
            raise ValueError(f"a job may hold at most {MAX_INDICES_PER_JOB} indices, this one has {total}")
        size = len(self.model_dump_json())
        if size > MAX_JOB_DOCUMENT:
            raise ValueError(f"the job is {size} bytes as stored; at most {MAX_JOB_DOCUMENT}")
        return self


class Job(BaseModel):
    """The stored job document (container ``jobs``, partition = id)."""

    id: str
    name: str
    owner: str
    priority: Priority
    pool: str | None = None
    template: str = "Default"
    never_burst: bool = False
    shared_workdir: bool = False
    environment: dict[str, str] = Field(default_factory=dict)
    runtime: float | None = None
    fail_dependent_tasks: bool = False
    group_dependencies: list[GroupDependency] = Field(default_factory=list)
    tasks: list[TaskSpec]
    state: JobState
    submitted_at: float  # epoch seconds
    started_at: float | None = None
    ended_at: float | None = None
    total: int  # indices over all tasks
    batch_size: int
    batches: int
    instance_id: str  # the job's orchestration instance
    message: str | None = None
    forced: bool = False  # canceled with force: NodeRelease does not run
    requeued_at: float | None = None  # the last requeue (its write fences a finish that looked before it)
    node_steps: list[NodeStepRecord] = Field(default_factory=list)  # NodePrep/NodeRelease results per node

    def node_step(self, kind: TaskType) -> NodeStep | None:
        """The job's NodePrep or NodeRelease task as an agent runs it, if the job has one."""
        for number, spec in enumerate(self.tasks, start=1):
            if spec.type == kind:
                limit = spec.max_run_time
                if limit is None and kind == TaskType.NODE_RELEASE:
                    limit = NODE_RELEASE_DEFAULT_LIMIT
                return NodeStep(
                    job=self.id,
                    task_id=number,
                    kind=kind,
                    job_name=self.name,
                    owner=self.owner,
                    command=spec.command,
                    environment={**self.environment, **spec.environment},
                    workdir=spec.workdir,
                    max_run_time=limit,
                    valid_exit_codes=spec.valid_exit_codes,
                )
        return None

    def excludes(self, node: str) -> bool:
        """Whether ``node`` is out of this job (its NodePrep failed there)."""
        return any(r.node == node and r.kind == TaskType.NODE_PREP and not r.ok for r in self.node_steps)

    @property
    def has_dependencies(self) -> bool:
        return bool(self.group_dependencies) or any(t.depends_on for t in self.tasks)

    def parents(self) -> dict[int, frozenset[int]]:
        from hpcburst.domain.dependencies import parents_of

        return parents_of(self.tasks, self.group_dependencies)

    def layout(self) -> list[int] | None:
        """Task numbers in dispatch order (parents first); None: job order."""
        from hpcburst.domain.dependencies import layout

        return layout(self.parents()) if self.has_dependencies else None

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"id"})

    @classmethod
    def from_document(cls, id: str, body: dict[str, Any]) -> Job:
        return cls.model_validate({**body, "id": id})


class JobView(Job):
    """A job as ``GET /api/jobs/{job}`` shows it: the document plus indices per task state."""

    counts: dict[str, int]  # every TaskState name; undispatched indices count as Submitted
    waiting_reason: str | None = None  # why queued indices are not running yet (e.g. never-burst, cost cap)
    # dollars of cloud node time its indices used, by slots (hpcburst.domain.cost); on-premises time is free
    cost: float = 0.0
    # state and counts in one token: ``GET /api/jobs/{job}?wait=S&known=TOKEN`` answers when it changes
    progress: str = ""


class RequeueResult(BaseModel):
    """What ``requeue`` did: how many indices went back to Queued, and the batches they belong to."""

    job: str
    requeued: int
    batches: list[int]


HIDDEN = "***"


def shown_to(who: Principal, job: Job) -> Job:
    """A job as ``who`` may see it: environment values of another user's job are hidden (an admin sees
    the variable names, never their values: they often hold secrets)."""
    if who.is_user and who.name == job.owner:
        return job
    tasks = [t.model_copy(update={"environment": dict.fromkeys(t.environment, HIDDEN)}) for t in job.tasks]
    return job.model_copy(update={"tasks": tasks, "environment": dict.fromkeys(job.environment, HIDDEN)})
