"""Reports: record each index's result exactly once, retry failures, and find batches that are done.

A result counts only for the index's current attempt, from the node holding it (compare-and-set
on the document's etag); duplicates, late results after a re-lease and results for canceled
indices are ignored, idempotently. An ``evicted`` result gives its index back: Queued at once, no retry
counted (``leasing.given_back``). Writes are batched per job partition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.job import Job
from hpcburst.domain.leasing import HOLDER, OPEN_BATCH, apply_result, own_outputs, result_accepted
from hpcburst.domain.protocol import ReportRequest, ReportResponse, TaskResult
from hpcburst.domain.states import TaskState
from hpcburst.domain.task import parse_task_key
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict, NotFound
from hpcburst.services.batching import chunks
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.dependencies import DependencyService
from hpcburst.services.grants import GrantService
from hpcburst.services.node_steps import NodeStepService
from hpcburst.services.runtimes import RuntimeStats
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import Document, StateStore, WriteOp, query_all

Write = tuple[Document, TaskDocument, TaskResult]  # the document read, the new document, the result


@dataclass
class ReportOutcome:
    response: ReportResponse
    # (job's orchestration instance, job id, batch) for every batch this report completed
    completed: list[tuple[str, str, int]] = field(default_factory=list)
    # (instance, job) of jobs whose orchestration should look again: stopped by a failure, or tasks released
    changed: list[tuple[str, str]] = field(default_factory=list)


class ReportService:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        signal: WorkSignal,
        runtimes: RuntimeStats,
        grants: GrantService | None = None,
        steps: NodeStepService | None = None,
        dependencies: DependencyService | None = None,
        fail_job: Callable[[str, str], Job | None] | None = None,
    ) -> None:
        self._store, self._catalog, self._signal, self._runtimes = store, catalog, signal, runtimes
        self._grants, self._steps, self._dependencies = grants, steps, dependencies
        self._fail_job = fail_job  # JobService.fail: ends a job whose fail_job_on_failure task failed

    def report(self, req: ReportRequest) -> ReportOutcome:
        """Record the results; stdout/stderr refs outside the node's own prefix are dropped (``own_outputs``).
        The answer carries the grant for the node's next segment blob."""
        by_job: dict[str, list[TaskResult]] = defaultdict(list)
        outcome = ReportOutcome(ReportResponse())
        if req.node_steps and self._steps is not None:
            # First: a failed NodePrep excludes the node before the indices it gives back are queued again.
            outcome.response.steps_accepted = self._steps.record(req.node, req.node_steps)
        seen: set[tuple[str, int]] = set()
        for result in req.results:
            if (result.task, result.attempt) in seen:  # the same result twice in one report
                outcome.response.ignored.append(result.task)
                continue
            seen.add((result.task, result.attempt))
            try:
                by_job[parse_task_key(result.task)[0]].append(own_outputs(result, req.pool, req.node))
            except ValueError:
                outcome.response.ignored.append(result.task)
        wake = False
        for job_id, results in by_job.items():
            wake |= self._record_job(job_id, results, req.node, outcome)
        if wake:
            self._signal.notify()
        if self._grants is not None:
            outcome.response.segment = self._grants.segment(req.pool, req.node)
        return outcome

    def _record_job(self, job_id: str, results: list[TaskResult], node: str, outcome: ReportOutcome) -> bool:
        """Record one job's results; True when work became leasable (a retry, or room under a cap)."""
        try:
            job = self._catalog.get(job_id)
        except NotFound:
            outcome.response.ignored += [r.task for r in results]
            return False
        writes: list[Write] = []
        held = self._held(job_id, node, results)
        for result in results:
            doc = held.get(result.task)
            if doc is None:  # gone, or no longer this node's: the result would not be accepted anyway
                outcome.response.ignored.append(result.task)
                continue
            task = TaskDocument.stored(doc.body)
            if not result_accepted(task, result, node):
                outcome.response.ignored.append(result.task)
                continue
            writes.append((doc, apply_result(task, result, job.tasks[task.task - 1]), result))
        written = self._write(job_id, writes)
        outcome.response.accepted += [r.task for _, _, r in written]
        kept = {r.task for _, _, r in written}
        outcome.response.ignored += [r.task for _, _, r in writes if r.task not in kept]  # lost a race
        ran = [r for _, _, r in written if not r.evicted]  # a given-back index says nothing of runtimes
        self._runtimes.observe(
            job_id, [r.ended_at - r.started_at for r in ran if r.started_at and r.ended_at]
        )
        done_batches = sorted({t.batch for _, t, _ in written if t.state.terminal})
        for batch in done_batches:
            if self._store.count(c.TASKS, job_id, where={OPEN_BATCH: batch}) == 0:
                outcome.completed.append((job.instance_id, job_id, batch))
        self._after_ends(job, [t for _, t, _ in written if t.state.terminal], outcome)
        retried = any(t.state == TaskState.QUEUED for _, t, _ in written)
        capped = any(t.max_running is not None for t in job.tasks)
        return retried or (capped and bool(written))

    def _held(self, job_id: str, node: str, results: list[TaskResult]) -> dict[str, Document]:
        """The reported documents, by id. Several results: the job's documents ``node`` holds, in one query
        on the sparse ``holder`` index, not a point read per result (Cosmos operations per index are the
        cost of a sweep); one result: its point read (1 RU, cheaper than a query)."""
        if len(results) == 1:
            try:
                return {results[0].task: self._store.get(c.TASKS, job_id, results[0].task)}
            except NotFound:
                return {}
        return {
            doc.id: doc for doc in query_all(self._store, c.TASKS, partition=job_id, where={HOLDER: node})
        }

    def _after_ends(self, job: Job, ended: list[TaskDocument], outcome: ReportOutcome) -> None:
        """What ended indices set off: a failed fail_job_on_failure task fails the job; an ended parent's
        children may be released (asked after the write, see ``DependencyService``)."""
        failed = [
            t for t in ended if t.state == TaskState.FAILED and job.tasks[t.task - 1].fail_job_on_failure
        ]
        if failed and self._fail_job is not None:
            first = failed[0]
            why = f"task {first.task} index {first.index} failed (fail_job_on_failure)"
            if self._fail_job(job.id, why) is not None:
                outcome.changed.append((job.instance_id, job.id))
            return
        if ended and job.has_dependencies and self._dependencies is not None:
            parents = {p for ps in job.parents().values() for p in ps}
            if any(t.task in parents for t in ended) and self._dependencies.release(job):
                outcome.changed.append((job.instance_id, job.id))

    def _write(self, job_id: str, writes: list[Write]) -> list[Write]:
        kept: list[Write] = []
        for chunk in chunks(writes):
            kept += self._write_chunk(job_id, chunk)
        return kept

    def _write_chunk(self, job_id: str, writes: Sequence[Write]) -> list[Write]:
        """Apply the writes in one batch; on a lost race fall back to one by one, keeping the winners."""
        try:
            self._store.batch(
                c.TASKS, job_id, [WriteOp("replace", d.id, t.body(), d.etag) for d, t, _ in writes]
            )
            return list(writes)
        except (Conflict, NotFound):
            pass
        kept = []
        for doc, task, result in writes:
            body = task.body()
            try:
                self._store.replace(c.TASKS, job_id, doc.id, body, if_match=doc.etag)
                kept.append((doc, task, result))
            except Conflict:
                # Canceled or re-leased meanwhile (that writer wins), or written by the batch after all
                # (a store whose batch is not atomic, like the Cosmos emulator): tell them apart.
                if self._already_written(job_id, doc.id, body):
                    kept.append((doc, task, result))
            except NotFound:
                pass
        return kept

    def _already_written(self, job_id: str, key: str, body: dict[str, Any]) -> bool:
        try:
            now = self._store.get(c.TASKS, job_id, key).body
        except NotFound:
            return False
        return now == body
