"""Lease and result rules (pure): how much to lease, in what order, and what a result does.

The service feeds these functions task documents (``TaskDocument``, read at the store edge) and the clock;
they return decisions and new documents, never I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from hpcburst.domain.grants import inside_node_prefix
from hpcburst.domain.job import Job, TaskSpec
from hpcburst.domain.protocol import Lease, TaskResult
from hpcburst.domain.states import TaskState
from hpcburst.domain.sweep import substitute
from hpcburst.domain.task_document import TaskDocument
from hpcburst.domain.task_types import TaskType, exit_ok

# Short tasks: lease enough for about this much work per free slot (fewer round trips);
# long tasks: exactly one per free slot, so no slot idles while work waits on another node.
TARGET_SECONDS_PER_SLOT = 0.5
MAX_PER_SLOT = 256
MAX_PER_CALL = 2000


def lease_count(free_slots: int, mean_runtime: float | None) -> int:
    """How many indices a node with ``free_slots`` should take, given the job mix's mean runtime."""
    if free_slots <= 0:
        return 0
    if mean_runtime is None or mean_runtime >= TARGET_SECONDS_PER_SLOT:
        return free_slots
    per_slot = int(TARGET_SECONDS_PER_SLOT / max(mean_runtime, 1e-4))
    return min(MAX_PER_CALL, free_slots * max(1, min(MAX_PER_SLOT, per_slot)))


def priority_order(jobs: Iterable[Job]) -> list[Job]:
    """Higher priority first, then earlier submission, then id (a stable total order)."""
    return sorted(jobs, key=lambda j: (-j.priority.rank, j.submitted_at, j.id))


def runs_on(job: Job, pool: str, cloud: bool = False, node: str | None = None) -> bool:
    """May an index of ``job`` run on a node of ``pool`` (named ``node``)? A never-burst job never runs on a
    cloud node, even one an admin started by hand (the burst policy also leaves it out of the demand); a job
    whose every task is pinned (clusrun, ``hpcburst.domain.pinning``) only on those nodes."""
    pinned_elsewhere = node is not None and all(t.node not in (None, node) for t in job.tasks)
    return (job.pool is None or job.pool == pool) and not (cloud and job.never_burst) and not pinned_elsewhere


def cap_room(spec: TaskSpec, running: int) -> int | None:
    """How many more of a task's indices may start (None: uncapped)."""
    if spec.max_running is None:
        return None
    return max(0, spec.max_running - running)


def lease_for(job: Job, doc: TaskDocument, key: str) -> Lease:
    """The lease an agent gets for a task document already marked Running (``doc`` after the write)."""
    spec = job.tasks[doc.task - 1]
    index = doc.index

    def sub(text: str) -> str:
        return text if spec.sweep is None else substitute(text, index)

    def opt(text: str | None) -> str | None:
        return None if text is None else sub(text)

    return Lease(
        task=key,
        job=job.id,
        task_id=doc.task,
        index=index,
        attempt=doc.attempt,
        retry_count=doc.retry_count,
        job_name=job.name,
        owner=job.owner,
        shared_workdir=job.shared_workdir,
        command=sub(spec.command),
        environment={k: sub(v) for k, v in {**job.environment, **spec.environment}.items()},
        workdir=opt(spec.workdir),
        stdout=opt(spec.stdout),
        stderr=opt(spec.stderr),
        max_run_time=spec.max_run_time,
        input_files=[f if spec.sweep is None else f.for_index(index) for f in spec.input_files],
        output_files=[f if spec.sweep is None else f.for_index(index) for f in spec.output_files],
        node_prep=job.node_step(TaskType.NODE_PREP),
        node_release=job.node_step(TaskType.NODE_RELEASE),
    )


# Query field names (``TaskDocument``): ``open_batch`` is set to the batch while an index is Queued or
# Running, absent once it ends: counting ``open_batch == b`` is an index-only count, where "batch == b and
# state in (...)" reads every document. ``holder`` is the node while an index is Running there, absent
# otherwise (``node`` stays, for the record): "what does node X run" is then an index lookup, not a scan
# of everything X ever ran.
OPEN_BATCH = "open_batch"
HOLDER = "holder"


def closed(doc: TaskDocument) -> TaskDocument:
    """``doc`` without its open-batch and holder markers (it reached a final state)."""
    return doc.changed(open_batch=None, holder=None)


def reopened(doc: TaskDocument) -> TaskDocument:
    return doc.changed(open_batch=doc.batch)


def mark_leased(doc: TaskDocument, node: str, now: float) -> TaskDocument:
    """The document of a Queued index after a node leases it (a new attempt fences older ones)."""
    return doc.changed(
        state=TaskState.RUNNING, attempt=doc.attempt + 1, node=node, holder=node, leased_at=now
    )


def holds(doc: TaskDocument, node: str, attempt: int) -> bool:
    """Whether ``node`` holds ``attempt`` of the index now: it runs, that attempt is current, leased to it."""
    return doc.state == TaskState.RUNNING and doc.attempt == attempt and doc.node == node


def result_accepted(doc: TaskDocument, result: TaskResult, node: str) -> bool:
    """A result counts only for the current attempt, from its leaseholder, while it runs."""
    return holds(doc, node, result.attempt)


def own_outputs(result: TaskResult, pool: str, node: str) -> TaskResult:
    """``result`` keeping only stdout/stderr refs inside the node's own output prefix; a dropped one is
    named in the message (the exit code still counts), so a node can never point at others' blobs."""
    dropped = {
        stream: ref
        for stream, ref in (("stdout", result.stdout), ("stderr", result.stderr))
        if ref is not None and not inside_node_prefix(ref, pool, node)
    }
    if not dropped:
        return result
    notes = [
        f"{s} reference {r.container}/{r.blob} is outside the node's output prefix: dropped"
        for s, r in dropped.items()
    ]
    message = "; ".join(filter(None, [result.message, *notes]))
    return result.model_copy(update={**{s: None for s in dropped}, "message": message})


def apply_result(doc: TaskDocument, result: TaskResult, spec: TaskSpec) -> TaskDocument:
    """The document after an accepted result: Finished, Failed, Queued again for a retry, or Queued again
    without counting one (``evicted``: the node gave it back unfinished)."""
    if result.evicted and doc.given_back < FREE_GIVE_BACKS:
        return given_back(doc, result)
    if result.evicted:  # a node that keeps giving it back: from now on it costs a retry, so it ends
        result = result.model_copy(
            update={"message": f"given back {doc.given_back + 1} times: {result.reason}"}
        )
    succeeded = exit_ok(result.exit_code, spec.valid_exit_codes) and not result.timed_out
    new = doc.changed(
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        started_at=result.started_at,
        ended_at=result.ended_at,
        stdout=result.stdout,
        stderr=result.stderr,
        message=result.message,
        holder=None,
    )
    if succeeded:
        return new.changed(state=TaskState.FINISHED, open_batch=None)
    if doc.retry_count < spec.retries:
        return new.changed(
            state=TaskState.QUEUED, retry_count=doc.retry_count + 1, node=None, open_batch=doc.batch
        )
    return new.changed(state=TaskState.FAILED, open_batch=None)


def requeued(doc: TaskDocument, message: str) -> TaskDocument:
    """An index given back to the queue without counting as a failure (its node was lost)."""
    return doc.changed(state=TaskState.QUEUED, message=message, node=None, holder=None)


# Give-backs that cost no retry. Beyond them a give-back counts as a failed attempt: a broken or rogue node
# that keeps giving an index back cannot keep its job from ever ending.
FREE_GIVE_BACKS = 3
GIVEN_BACK = "given_back"  # in the task document: how many times nodes gave it back unfinished


def given_back(doc: TaskDocument, result: TaskResult) -> TaskDocument:
    """An index its leaseholder gave back unfinished (e.g. a spot eviction): Queued again at once, its retry
    count untouched; its attempt is fenced as stale (nothing runs it, the next lease takes a new one)."""
    why = f"{result.reason or 'evicted'} of node {doc.node or '?'}"
    return requeued(doc, f"given back: {why}").changed(given_back=doc.given_back + 1)
