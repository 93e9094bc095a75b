"""NodePrep and NodeRelease on the service side (design: ``hpcburst.domain.node_steps``).

``record``: a node's step results land on the job document, one record per node and step (compare-and-set).
``left``: of the jobs a node keeps step state for, those that ended, and whether to run the NodeRelease there.
"""

from __future__ import annotations

from hpcburst import constants as c
from hpcburst.domain.job import Job
from hpcburst.domain.node_steps import LeftJob, NodeStepResult, recorded, release_due
from hpcburst.domain.task_types import TaskType
from hpcburst.errors import Conflict, NotFound
from hpcburst.services.catalog import JobCatalog
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import StateStore


class NodeStepService:
    def __init__(self, store: StateStore, catalog: JobCatalog, signal: WorkSignal) -> None:
        self._store, self._catalog, self._signal = store, catalog, signal

    def record(self, node: str, results: list[NodeStepResult]) -> int:
        """Keep each result on its job; how many were handled (a job that is gone counts: nothing to keep)."""
        for result in results:
            self._record_one(node, result)
        return len(results)

    def _record_one(self, node: str, result: NodeStepResult) -> None:
        while True:
            try:
                doc = self._store.get(c.JOBS, result.job, result.job)
            except NotFound:
                return
            job = Job.from_document(result.job, doc.body)
            step = job.node_step(result.kind)
            if step is None:
                return  # the job has no such step: a confused or rogue agent
            ok = step.succeeded(result.exit_code, result.timed_out)
            records = recorded(job.node_steps, node, result, ok)
            body = {**doc.body, "node_steps": [r.model_dump(mode="json", exclude_none=True) for r in records]}
            try:
                self._store.replace(c.JOBS, job.id, job.id, body, if_match=doc.etag)
            except Conflict:
                continue
            self._catalog.invalidate(job.id)
            if not ok:
                self._signal.notify()  # its indices come back; other nodes may take them
            return

    def left(self, node: str, jobs: list[str]) -> list[LeftJob]:
        """Which of ``jobs`` (those ``node`` owes a NodeRelease) have ended, and whether it runs there."""
        if not jobs:
            return []
        active = {j.id for j in self._catalog.active()}  # cached: a heartbeat costs no read per active job
        gone = []
        for job_id in jobs:
            if job_id in active:
                continue
            try:
                job = self._catalog.get(job_id, fresh=True)
            except NotFound:
                gone.append(LeftJob(job=job_id, release=False))  # deleted: nothing to release for
                continue
            if job.state.terminal:
                due = release_due(True, job.forced, job.excludes(node))
                gone.append(
                    LeftJob(job=job_id, release=due and job.node_step(TaskType.NODE_RELEASE) is not None)
                )
        return gone
