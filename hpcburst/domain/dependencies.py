"""Dependencies between the tasks of a job, and what is ready to run (pure).

A task depends on the tasks named in its ``depends_on`` and, through XML task groups, on every task of each
group its own ``group`` depends on (``JobSpec.group_dependencies``, Parent -> Child). Tasks are numbered
1-based by their position in the job.

The rule (``plan``): a task's indices start once every parent has ended, i.e. each of its indices is
Finished, or (``fail_dependent_tasks`` false) ended at all. With ``fail_dependent_tasks`` true, a parent with
a Failed or Canceled index dooms its children, and theirs in turn: their indices are canceled at once.

Dispatch lays the tasks out parents first (``layout``), so the orchestrator's window of open batches never
fills with children whose parents it has not dispatched yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hpcburst.domain.task_types import FieldError

if TYPE_CHECKING:
    from hpcburst.domain.job import TaskSpec
    from hpcburst.domain.task_types import GroupDependency

Graph = dict[int, frozenset[int]]  # task number -> its parents' numbers


class DependencyError(FieldError):
    """A dependency that cannot hold; ``field`` names where it is, e.g. ``tasks[2].depends_on``."""


def parents_of(tasks: Sequence[TaskSpec], groups: Sequence[GroupDependency] = ()) -> Graph:
    """Every task's parents; DependencyError for an unknown or ambiguous name, a per-node task in a
    dependency, an unknown group, or a cycle."""
    graph: dict[int, set[int]] = {n: set() for n in range(1, len(tasks) + 1)}
    _by_name(tasks, graph)
    _by_group(tasks, groups, graph)
    for n, spec in enumerate(tasks, start=1):
        linked = graph[n] or any(n in p for p in graph.values())
        if spec.type is not None and spec.type.per_node and linked:
            raise DependencyError(
                f"a {spec.type.value} task runs per node: it has no dependencies", f"tasks[{n - 1}]"
            )
    result = {n: frozenset(p) for n, p in graph.items()}
    layout(result)  # raises on a cycle
    return result


def _by_name(tasks: Sequence[TaskSpec], graph: dict[int, set[int]]) -> None:
    numbers: dict[str, list[int]] = {}
    for n, spec in enumerate(tasks, start=1):
        if spec.name:
            numbers.setdefault(spec.name, []).append(n)
    for n, spec in enumerate(tasks, start=1):
        for name in spec.depends_on:
            where = f"tasks[{n - 1}].depends_on"
            found = numbers.get(name, [])
            if not found:
                raise DependencyError(f"no task of this job is named {name!r}", where)
            if len(found) > 1:
                raise DependencyError(f"{len(found)} tasks are named {name!r}: names must be unique", where)
            graph[n].add(found[0])


def _by_group(
    tasks: Sequence[TaskSpec], groups: Sequence[GroupDependency], graph: dict[int, set[int]]
) -> None:
    members: dict[int, list[int]] = {}
    for n, spec in enumerate(tasks, start=1):
        if spec.group is not None:
            members.setdefault(spec.group, []).append(n)
    for i, dep in enumerate(groups):
        for end in (dep.parent, dep.child):
            if end not in members:
                raise DependencyError(f"no task is in group {end}", f"group_dependencies[{i}]")
        for child in members[dep.child]:
            graph[child].update(members[dep.parent])


def layout(graph: Graph) -> list[int]:
    """Task numbers parents first, otherwise in job order (a stable topological order)."""
    order: list[int] = []
    placed: set[int] = set()
    waiting = sorted(graph)
    while waiting:
        ready = [n for n in waiting if graph[n] <= placed]
        if not ready:
            cycle = ", ".join(f"tasks[{n - 1}]" for n in waiting)
            raise DependencyError(f"a dependency cycle among {cycle}", f"tasks[{waiting[0] - 1}].depends_on")
        first = ready[0]  # one at a time keeps job order among the ready ones
        order.append(first)
        placed.add(first)
        waiting.remove(first)
    return order


@dataclass(frozen=True)
class TaskTally:
    """How a task's indices stand: how many it has, how many ended, how many of those did not finish."""

    total: int
    ended: int = 0
    failed: int = 0  # Failed or Canceled

    @property
    def finished(self) -> bool:
        return self.ended == self.total and self.failed == 0


@dataclass(frozen=True)
class Release:
    ready: list[int] = field(default_factory=list)  # tasks whose waiting indices may be queued now
    doomed: list[int] = field(default_factory=list)  # tasks whose waiting indices are canceled now


def plan(graph: Graph, tallies: Mapping[int, TaskTally], fail_dependent_tasks: bool) -> Release:
    """Which dependent tasks may start and which are doomed, given the tallies of their parents."""
    doomed: set[int] = set()
    for n in layout(graph):  # parents first: a doomed parent is known before its children
        if fail_dependent_tasks and any(p in doomed or _failed(tallies, p) for p in graph[n]):
            doomed.add(n)
    ready = [
        n
        for n, parents in graph.items()
        if parents and n not in doomed and all(_ended(tallies, p, fail_dependent_tasks) for p in parents)
    ]
    return Release(ready=sorted(ready), doomed=sorted(n for n in doomed if graph[n]))


def _failed(tallies: Mapping[int, TaskTally], task: int) -> bool:
    tally = tallies.get(task)
    return tally is not None and tally.failed > 0


def _ended(tallies: Mapping[int, TaskTally], task: int, fail_dependent_tasks: bool) -> bool:
    tally = tallies.get(task)
    if tally is None:
        return False
    return tally.finished if fail_dependent_tasks else tally.ended == tally.total
