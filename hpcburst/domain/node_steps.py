"""NodePrep and NodeRelease: per-node steps of a job, and how their results are recorded (pure).

The design, chosen so the lease hot path stays one list lookup and every step survives agent restarts:

- Every lease of a job that has a NodePrep or NodeRelease task carries that task as a ``NodeStep``.
- The agent (``nodeagent.node_steps``) runs the NodePrep before the job's first index on the node and keeps
  the outcome in its own state directory, so after a restart it neither runs it again nor forgets a failure.
  It reports the outcome (``ReportRequest.node_steps``); the service keeps one ``NodeStepRecord`` per node on
  the job document. A failed NodePrep excludes the node: the lease path skips the job for it
  (``Job.excludes``), and the agent gives back the job's indices it holds, without costing a retry.
- The agent also keeps the job's NodeRelease on disk, and lists the jobs it still owes one in its
  heartbeats (``HeartbeatRequest.jobs``). Once a job has ended, the answer says so (``HeartbeatResponse.left``)
  and whether to run it: not after a forced cancel, nor on a node the job excluded. The agent runs it under
  its own time limit, reports it, and forgets the job once the report is acknowledged.

A step interrupted by an agent restart runs again (at least once, like a rebooted HPC Pack node).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from hpcburst.domain.task_types import TaskType, exit_ok

if TYPE_CHECKING:
    from hpcburst.domain.protocol import Lease


class NodeStep(BaseModel):
    """A NodePrep or NodeRelease as the agent runs it (no `*` substitution: it has no index)."""

    job: str
    task_id: int  # its position in the job (CCP_TASKID)
    kind: TaskType
    job_name: str = ""
    owner: str = ""  # the submitting user: it runs as the same local account as the job's other tasks
    command: str
    environment: dict[str, str] = Field(default_factory=dict)  # the job's, overridden by the task's
    workdir: str | None = None
    max_run_time: float | None = None
    valid_exit_codes: str | None = None

    def succeeded(self, exit_code: int | None, timed_out: bool) -> bool:
        return not timed_out and exit_ok(exit_code, self.valid_exit_codes)

    def as_lease(self) -> Lease:
        """The step as a lease of index 0, attempt 0 of its own task (which has no indices, so no real lease
        shares its key), in the job's shared directory: the agent runs it through the same confined path."""
        from hpcburst.domain.protocol import Lease  # (the protocol carries steps: imported here, not above)

        return Lease(
            task=f"{self.job}.{self.task_id}.0",
            job=self.job,
            task_id=self.task_id,
            index=0,
            attempt=0,
            retry_count=0,
            job_name=self.job_name,
            owner=self.owner,
            shared_workdir=True,
            command=self.command,
            environment=self.environment,
            workdir=self.workdir,
            max_run_time=self.max_run_time,
        )


class NodeStepResult(BaseModel):
    """What an agent reports after running a step."""

    job: str
    kind: TaskType
    exit_code: int | None = None  # None: it could not be started
    timed_out: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    message: str | None = Field(default=None, max_length=2000)


class NodeStepRecord(BaseModel):
    """A step's outcome on one node, as the job document keeps it."""

    node: str
    kind: TaskType
    ok: bool
    exit_code: int | None = None
    timed_out: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    message: str | None = None


class LeftJob(BaseModel):
    """A job that has left the node: run its NodeRelease (``release``) or just forget it."""

    job: str
    release: bool


def recorded(
    records: list[NodeStepRecord], node: str, result: NodeStepResult, ok: bool
) -> list[NodeStepRecord]:
    """``records`` with ``node``'s outcome of the step replaced (a re-run after a restart overwrites)."""
    kept = [r for r in records if not (r.node == node and r.kind == result.kind)]
    record = NodeStepRecord(node=node, ok=ok, **result.model_dump(exclude={"job"}))
    return [*kept, record]


def release_due(job_terminal: bool, forced: bool, excluded: bool) -> bool:
    """Whether a node runs the NodeRelease of a job that left it."""
    return job_terminal and not forced and not excluded
