"""Pinned tasks (clusrun): a task whose ``node`` is set runs on that node and nowhere else.

Running a command on chosen nodes is an admin action (HPC Pack's clusrun needs admin rights), so only an
admin may submit a pinned task. Pinning narrows where a task runs, never widens it: the job's pool and
never-burst rules still hold, so a submit naming a node the job could not run on is refused.

A pinned index runs only while its node is Online. When the node is not (Offline, Unreachable, or no
longer registered), its Queued pinned indices fail with a message naming the node (``stranded``) rather
than wait forever; one Running there when the node stops heartbeating is re-queued as any index is,
then fails the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from hpcburst.domain.job import Job, JobSpec, TaskSpec
from hpcburst.domain.leasing import closed
from hpcburst.domain.node import Node
from hpcburst.domain.states import NodeState, TaskState
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Forbidden, InvalidSpec


def pinned_nodes(tasks: Iterable[TaskSpec]) -> set[str]:
    return {t.node for t in tasks if t.node is not None}


def leasable_by(job: Job, node: str) -> Callable[[TaskDocument], bool] | None:
    """A test of task documents: may ``node`` lease this one? None when no task of the job is pinned."""
    if not pinned_nodes(job.tasks):
        return None
    return lambda doc: job.tasks[doc.task - 1].node in (None, node)


def check_pins(spec: JobSpec, admin: bool, registered: Callable[[], Mapping[str, Node]]) -> None:
    """Refuse a pinned job from a non-admin (Forbidden), or one naming a node that is not registered, not
    Online, outside the job's pool, or a cloud node for a never-burst job (InvalidSpec naming the field).
    ``registered``: the registered nodes by name (read only for a pinned job)."""
    if not pinned_nodes(spec.tasks):
        return
    if not admin:
        raise Forbidden("only an admin may pin tasks to nodes (clusrun runs a command on chosen nodes)")
    nodes = registered()
    for number, task in enumerate(spec.tasks):
        if task.node is None:
            continue
        node, field = nodes.get(task.node), f"tasks.{number}.node"
        if node is None:
            raise InvalidSpec(f"node {task.node!r} is not registered; see `hpcburst node list`", field=field)
        if node.state != NodeState.ONLINE:
            raise InvalidSpec(f"node {task.node!r} is {node.state.value}, not Online", field=field)
        if spec.pool is not None and node.pool != spec.pool:
            raise InvalidSpec(f"node {task.node!r} is in pool {node.pool!r}, not {spec.pool!r}", field=field)
        if spec.never_burst and node.cloud:
            raise InvalidSpec(f"node {task.node!r} is a cloud node and the job is never-burst", field=field)


def why_stranded(pin: str, state: NodeState | None) -> str | None:
    """Why an index pinned to ``pin`` (whose node is in ``state``; None: not registered) can never run,
    or None while its node is Online."""
    if state == NodeState.ONLINE:
        return None
    where = "is no longer registered" if state is None else f"is {state.value}"
    return f"node {pin} {where}: it left before running this index, which may run only there"


def stranded(doc: TaskDocument, message: str) -> TaskDocument:
    """The document of a Queued pinned index whose node left: Failed, with the reason."""
    return closed(doc.changed(state=TaskState.FAILED, message=message))
