"""Job lifecycle: submit, view (with per-state counts), list, cancel; requeue is ``hpcburst.services.requeue``.

Submission writes the job (Queued), starts its orchestration, then materializes the first batch
right here, so a small job is leasable before the HTTP response leaves (submit->start latency);
later batches go through the orchestrator and the dispatch queue.

The coroutines here run on the runtime's event loop, which also serves lease long-polls and the
Durable engine, so their store work runs in a worker thread: a cancel or requeue may write thousands
of documents.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.grants import check_blob_refs
from hpcburst.domain.identity import Principal
from hpcburst.domain.job import Job, JobSpec, JobView, RequeueResult, shown_to
from hpcburst.domain.leasing import closed
from hpcburst.domain.node import Node
from hpcburst.domain.pinning import check_pins
from hpcburst.domain.planning import batch_count, batch_size_for
from hpcburst.domain.states import OPEN_TASK_STATES, JobState, Priority, TaskState
from hpcburst.domain.sweep import index_count
from hpcburst.domain.task_document import TaskDocument
from hpcburst.domain.task_paths import validate_task_paths
from hpcburst.domain.template import DEFAULT_TEMPLATE
from hpcburst.errors import Conflict, InvalidSpec, InvalidState, NotFound
from hpcburst.services.batching import BATCH_OPS
from hpcburst.services.catalog import META_PARTITION, JobCatalog
from hpcburst.services.dependencies import DependencyService
from hpcburst.services.dispatch import DispatchService
from hpcburst.services.orchestrations import Orchestrations, instance_id, orchestrator_input
from hpcburst.services.requeue import Requeuer
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import Page, StateStore, WriteOp, query_all

COUNTER_ID = "job-counter"
PAGE = BATCH_OPS  # one store batch per page
MAX_WATCH = 60.0  # longest a view may wait for a change (seconds)
RECHECK_SECONDS = 1.0  # re-count while waiting: counts change without a state change (COUNTS_TTL)


class JobService:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        dispatch: DispatchService,
        signal: WorkSignal,
        clock: Callable[[], float] = time.time,
        allowed_roots: Callable[[str | None], list[str]] = lambda pool: [],
        dependencies: DependencyService | None = None,
    ) -> None:
        self._store, self._catalog, self._dispatch = store, catalog, dispatch
        self._signal, self._clock = signal, clock
        self._allowed_roots = allowed_roots  # a pool's admin-listed absolute workdirs
        # why a job's queued indices wait (the burst controller knows); set by the composition root
        self.why_waiting: Callable[[Job], str | None] = lambda job: None
        # what its cloud node time cost so far (cost accounting knows); set by the composition root
        self.job_cost: Callable[[Job], float] = lambda job: 0.0
        # the job under its template (defaults filled, limits checked); set by the composition root
        self.templated: Callable[[JobSpec], JobSpec] = lambda spec: spec
        self._requeuer = Requeuer(store, catalog, signal, clock, dependencies)

    # --- submit ---
    async def submit(
        self, spec: JobSpec, orchestrations: Orchestrations, owner: str, admin: bool = False
    ) -> Job:
        """Submit ``spec`` as the authenticated user ``owner`` (``admin``: an admin, who may pin tasks)."""
        job = await asyncio.to_thread(self._create, spec, owner, admin)
        try:
            await orchestrations.start(
                job.instance_id, orchestrator_input(job, next_batch=1, open_batches=[0])
            )
        except Exception as e:
            # Nothing would ever run or finish it: say so on the job instead of leaving it Queued forever.
            why = f"could not start its orchestration: {e}"
            await asyncio.to_thread(self._update_job, job.id, _fail_job, why, self._clock())
            raise
        await asyncio.to_thread(self._dispatch.materialize, job.id, 0)
        self._catalog.invalidate()
        return job

    def _create(self, spec: JobSpec, owner: str, admin: bool = False) -> Job:
        if spec.owner is not None and spec.owner != owner:
            raise InvalidSpec(
                f"owner: a job belongs to the user who submits it ({owner}); leave owner out", field="owner"
            )
        spec = self.templated(spec)
        check_pins(spec, admin, self._registered_nodes)
        validate_task_paths(spec, self._allowed_roots(spec.pool))
        check_blob_refs(spec.tasks)
        job_id = self._next_id()
        total = sum(index_count(t) for t in spec.tasks)
        size = batch_size_for(total)
        job = Job(
            id=job_id,
            name=spec.name or f"job {job_id}",
            owner=owner,
            priority=spec.priority or Priority.NORMAL,
            pool=spec.pool,
            template=spec.template or DEFAULT_TEMPLATE,
            never_burst=spec.never_burst,
            shared_workdir=spec.shared_workdir,
            environment=spec.environment,
            runtime=spec.runtime,
            fail_dependent_tasks=spec.fail_dependent_tasks,
            group_dependencies=spec.group_dependencies,
            tasks=spec.tasks,
            state=JobState.QUEUED,
            submitted_at=self._clock(),
            total=total,
            batch_size=size,
            batches=batch_count(total, size),
            instance_id=instance_id(job_id),
        )
        self._store.create(c.JOBS, job_id, job_id, job.document())
        return job

    def _registered_nodes(self) -> dict[str, Node]:
        return {d.id: Node.model_validate(d.body) for d in query_all(self._store, c.NODES, limit=500)}

    def _next_id(self) -> str:
        while True:
            try:
                doc = self._store.get(c.JOBS, META_PARTITION, COUNTER_ID)
            except NotFound:
                try:
                    self._store.create(c.JOBS, META_PARTITION, COUNTER_ID, {"next": 2})
                    return "1"
                except Conflict:
                    continue
            number = int(doc.body["next"])
            try:
                self._store.replace(
                    c.JOBS, META_PARTITION, COUNTER_ID, {"next": number + 1}, if_match=doc.etag
                )
                return str(number)
            except Conflict:
                continue

    # --- read ---
    def view(self, job_id: str, who: Principal) -> JobView:
        """The job document plus ``counts``: indices per task state (undispatched ones count as Submitted),
        why queued indices wait, and what its cloud node time cost."""
        job = self._catalog.visible(job_id, who, fresh=True)
        counts = self._catalog.counts(job, lambda: self._count_states(job_id))
        missing = job.total - sum(counts.values())
        counts[TaskState.CANCELED if job.state == JobState.CANCELED else TaskState.SUBMITTED] += max(
            0, missing
        )
        waiting = self.why_waiting(job) if not job.state.terminal else None
        cost = self.job_cost(job)
        view = JobView(**dict(shown_to(who, job)), counts=counts, waiting_reason=waiting, cost=cost)
        view.progress = progress_token(view)
        return view

    async def watch(self, job_id: str, who: Principal, known: str | None, wait: float) -> JobView:
        """The view as soon as its ``progress`` differs from ``known`` (a long-poll), or after ``wait``
        seconds (at most ``MAX_WATCH``). State changes in this process answer at once; counts are looked
        at again every ``RECHECK_SECONDS`` (they are cached that long), as are changes made elsewhere."""
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WATCH)
        while True:
            seen = self._catalog.changed.generation
            view = await asyncio.to_thread(self.view, job_id, who)
            remaining = deadline - time.monotonic()
            if known is None or view.progress != known or view.state.terminal or remaining <= 0:
                return view
            await self._catalog.changed.wait(seen, min(RECHECK_SECONDS, remaining))

    def backlog(self, job: Job) -> tuple[int, int]:
        """(indices waiting to start, including undispatched ones; indices running) of an active job."""
        counts = self._catalog.counts(job, lambda: self._count_states(job.id))
        missing = max(0, job.total - sum(counts.values()))
        return counts[TaskState.QUEUED] + counts[TaskState.SUBMITTED] + missing, counts[TaskState.RUNNING]

    def _count_states(self, job_id: str) -> dict[str, int]:
        # Configuring is never stored (jobs are submitted whole): no need to count it.
        counts = {s.value: 0 for s in TaskState}
        for state in TaskState:
            if state != TaskState.CONFIGURING:
                counts[state.value] = self._store.count(c.TASKS, job_id, where={"state": state.value})
        return counts

    def list_jobs(
        self,
        who: Principal,
        state: str | None = None,
        owner: str | None = None,
        limit: int = 50,
        continuation: str | None = None,
    ) -> tuple[list[Job], str | None]:
        where: dict[str, Any] = {}
        if state is not None:
            where["state"] = _job_state(state)
        if not who.admin:
            owner = who.name  # a user lists their own jobs only
        if owner:
            where["owner"] = owner
        page: Page = self._store.query(
            c.JOBS,
            where=where,
            order_by="submitted_at",
            descending=True,
            limit=limit,
            continuation=continuation,
        )
        jobs = [
            shown_to(who, Job.from_document(d.id, d.body))
            for d in page.items
            if d.partition != META_PARTITION
        ]
        return jobs, page.continuation

    # --- cancel / requeue ---
    async def cancel(
        self, job_id: str, orchestrations: Orchestrations, who: Principal, force: bool = False
    ) -> Job:
        """Cancel the job; its NodeRelease still runs on its nodes unless ``force``."""
        await asyncio.to_thread(self._catalog.visible, job_id, who)
        job = await asyncio.to_thread(self._cancel, job_id, force)
        await orchestrations.raise_event(job.instance_id, {"kind": "cancel"})
        return job

    def _cancel(self, job_id: str, force: bool = False) -> Job:
        job = self._update_job(job_id, _cancel_job, self._clock(), force)
        self._stop_open_work(job_id)
        return job

    def fail(self, job_id: str, message: str) -> Job | None:
        """End a running job as Failed at once (a task with fail_job_on_failure failed, or the job ran past
        its runtime): its open indices are canceled. None when it had already ended."""
        try:
            job = self._update_job(job_id, _stop_failed, message, self._clock())
        except InvalidState:
            return None
        self._stop_open_work(job_id)
        return job

    def over_runtime(self) -> list[Job]:
        """Fail every active job that ran past its ``runtime``; returns them (their orchestrations need a poke)."""
        now = self._clock()
        failed = []
        for job in self._catalog.active():
            if job.runtime is not None and job.started_at is not None and now - job.started_at > job.runtime:
                stopped = self.fail(job.id, f"ran past its runtime of {job.runtime:g} s")
                failed += [stopped] if stopped is not None else []
        return failed

    def _stop_open_work(self, job_id: str) -> None:
        self.cancel_open_tasks(job_id)
        self._catalog.invalidate(job_id)
        self._signal.notify()  # long-polling agents re-check what they run

    def cancel_open_tasks(self, job_id: str, still: Callable[[], bool] = lambda: True) -> int | None:
        """Every Queued or Running index of the job becomes Canceled; returns how many. ``still`` is asked
        after each page is read and before it is written: False stops here and returns None."""
        canceled = 0
        while True:
            page = self._store.query(c.TASKS, job_id, where={"state": list(OPEN_TASK_STATES)}, limit=PAGE)
            if not page.items:
                return canceled
            if not still():
                return None
            ops = [WriteOp("replace", d.id, _canceled(d.body), d.etag) for d in page.items]
            try:
                self._store.batch(c.TASKS, job_id, ops)
                canceled += len(ops)
            except (Conflict, NotFound):
                continue  # a report or lease raced us: read the page again

    async def requeue(
        self, job_id: str, orchestrations: Orchestrations, who: Principal, indices: list[int] | None = None
    ) -> RequeueResult:
        """Failed and Canceled indices (all, or those listed) go back to Queued with fresh retries
        (``hpcburst.services.requeue``)."""
        return await self._requeuer.requeue(job_id, orchestrations, who, indices)

    def _update_job(self, job_id: str, change: Callable[..., dict[str, Any]], *args: Any) -> Job:
        while True:
            doc = self._store.get(c.JOBS, job_id, job_id)
            body = change(job_id, doc.body, *args)
            try:
                saved = self._store.replace(c.JOBS, job_id, job_id, body, if_match=doc.etag)
                return Job.from_document(job_id, saved.body)
            except Conflict:
                continue


def progress_token(view: JobView) -> str:
    """What a watcher compares: the state and a digest of the counts ("Running/3f2a9c01")."""
    digest = hashlib.sha1(json.dumps(view.counts, sort_keys=True).encode(), usedforsecurity=False)
    return f"{view.state.value}/{digest.hexdigest()[:8]}"


def _job_state(state: str) -> str:
    for member in JobState:
        if member.value.lower() == state.lower():
            return member.value
    raise InvalidSpec(f"state {state!r} is not one of {', '.join(s.value for s in JobState)}", field="state")


def _fail_job(job_id: str, body: dict[str, Any], message: str, now: float) -> dict[str, Any]:
    return {**body, "state": JobState.FAILED.value, "ended_at": now, "message": message}


def _cancel_job(job_id: str, body: dict[str, Any], now: float, force: bool = False) -> dict[str, Any]:
    if JobState(body["state"]).terminal:
        raise InvalidState(f"job {job_id} is already {body['state']}")
    message = "canceled by request" + (" (forced: no NodeRelease)" if force else "")
    return {**body, "state": JobState.CANCELED.value, "ended_at": now, "message": message, "forced": force}


def _stop_failed(job_id: str, body: dict[str, Any], message: str, now: float) -> dict[str, Any]:
    if JobState(body["state"]).terminal:
        raise InvalidState(f"job {job_id} is already {body['state']}")
    return {**body, "state": JobState.FAILED.value, "ended_at": now, "message": message}


def _canceled(body: dict[str, Any]) -> dict[str, Any]:
    return closed(TaskDocument.stored(body).changed(state=TaskState.CANCELED)).body()
