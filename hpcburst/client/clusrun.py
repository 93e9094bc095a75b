"""clusrun on the client: choose the nodes, build the pinned job (one task per node), gather each node's run.

The server runs a clusrun as a normal job whose tasks are pinned to nodes (``TaskSpec.node``, admins only),
so it is listed, viewed and canceled like any job; its name says it is a clusrun.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hpcburst.client.specs import JobDraft, task_spec
from hpcburst.domain.states import NodeState, TaskState
from hpcburst.errors import InvalidSpec, NotFound

NAME_PREFIX = "clusrun: "
MAX_NAME = 200


@dataclass(frozen=True)
class NodeRun:
    """What the command did on one node (``state`` Finished/Failed/Canceled, or Queued/Running if unfinished)."""

    node: str
    state: str
    exit_code: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == TaskState.FINISHED and self.exit_code == 0


def choose_nodes(
    nodes: Iterable[dict[str, Any]], names: list[str] | None = None, pool: str | None = None, all_nodes: bool = False
) -> list[str]:  # fmt: skip
    """The Online nodes to run on: ``names`` (each must exist and be Online, and be in ``pool`` if given),
    else every Online node of ``pool``, else (``all_nodes``) every Online node."""
    if all_nodes and names:
        raise InvalidSpec("name nodes or ask for all of them, not both (--nodes or --all)")
    if not (all_nodes or names or pool):
        raise InvalidSpec("choose the nodes: --nodes a,b, --pool POOL or --all")
    known = {n["name"]: n for n in nodes}
    if not names:
        chosen = sorted(name for name, n in known.items() if _online(n) and pool in (None, n.get("pool")))
        if not chosen:
            raise InvalidSpec("no node is Online" + (f" in pool {pool!r}" if pool else ""))
        return chosen
    names = list(dict.fromkeys(names))
    missing = [name for name in names if name not in known]
    if missing:
        raise NotFound(f"no such node: {', '.join(missing)}; see `hpcburst node list`")
    down = [f"{name} ({known[name].get('state')})" for name in names if not _online(known[name])]
    if down:
        raise InvalidSpec(f"not Online: {', '.join(down)}")
    outside = [name for name in names if pool is not None and known[name].get("pool") != pool]
    if outside:
        raise InvalidSpec(f"not in pool {pool!r}: {', '.join(outside)}")
    return names


def clusrun_job(command: str, nodes: list[str], pool: str | None = None) -> JobDraft:
    """A job running ``command`` once on each of ``nodes``: task k is pinned to nodes[k-1]."""
    draft = JobDraft(name=(NAME_PREFIX + command)[:MAX_NAME], pool=pool)
    for node in nodes:
        draft.add_task(task_spec(command, name=node, node=node))
    return draft


def node_runs(
    job: dict[str, Any], tasks: Iterable[dict[str, Any]], output: Callable[[str, str], bytes]
) -> list[NodeRun]:
    """Each node's run, in task order, from the job's view, its task documents and ``output(ref, stream)``
    (an index's stdout/stderr)."""
    by_task = {t["task"]: t for t in tasks}
    runs = []
    for number, spec in enumerate(job.get("tasks", []), start=1):
        doc = by_task.get(number, {})
        ref = f"{number}.0"
        streams = {s: output(ref, s) if doc.get(s) else b"" for s in ("stdout", "stderr")}
        undispatched = TaskState.CANCELED if job.get("state") == TaskState.CANCELED else TaskState.SUBMITTED
        state = str(doc.get("state") or undispatched.value)
        runs.append(NodeRun(node=spec.get("node") or doc.get("node") or "?", state=state,
                            exit_code=doc.get("exit_code"), message=doc.get("message"), **streams))  # fmt: skip
    return runs


def _online(node: dict[str, Any]) -> bool:
    return node.get("state") == NodeState.ONLINE
