"""Stranded pins: fail the Queued indices of pinned tasks (clusrun) whose node is no longer Online.

Run by a timer next to node expiry; cheap when no active job is pinned (one catalog read, no store query).
"""

from __future__ import annotations

from hpcburst import constants as c
from hpcburst.domain.leasing import OPEN_BATCH
from hpcburst.domain.pinning import pinned_nodes, stranded, why_stranded
from hpcburst.domain.states import NodeState, TaskState
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict, NotFound
from hpcburst.services.catalog import JobCatalog
from hpcburst.storage.state.port import StateStore, query_all


class PinnedWork:
    def __init__(self, store: StateStore, catalog: JobCatalog) -> None:
        self._store, self._catalog = store, catalog

    def fail_stranded(self) -> list[tuple[str, str, int]]:
        """Fail every Queued pinned index whose node is not Online; returns (orchestration instance, job,
        batch) for each batch this completed, so its orchestration can be told."""
        jobs = [j for j in self._catalog.active() if pinned_nodes(j.tasks)]
        if not jobs:
            return []
        states = {d.id: NodeState(d.body["state"]) for d in query_all(self._store, c.NODES, limit=500)}
        completed = []
        for job in jobs:
            failed: set[int] = set()
            where = {"state": TaskState.QUEUED.value}
            for doc in query_all(self._store, c.TASKS, partition=job.id, where=where, limit=500):
                task = TaskDocument.stored(doc.body)
                pin = job.tasks[task.task - 1].node
                why = None if pin is None else why_stranded(pin, states.get(pin))
                if why is None:
                    continue
                try:
                    self._store.replace(
                        c.TASKS,
                        job.id,
                        doc.id,
                        stranded(task, why).body(),
                        if_match=doc.etag,
                    )
                except (Conflict, NotFound):
                    continue  # leased or canceled meanwhile: that writer wins
                failed.add(task.batch)
            for batch in sorted(failed):
                if self._store.count(c.TASKS, job.id, where={OPEN_BATCH: batch}) == 0:
                    completed.append((job.instance_id, job.id, batch))
        return completed
