"""Sweep expansion and `*` substitution (HPC Pack parametric sweep rules).

In a command line, working directory and stdout/stderr paths:
- every run of n stars is the index, zero-padded to n digits (`*` -> 7, `***` -> 007);
- `^*` is a literal star.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpcburst.domain.job import SweepRange, TaskSpec

_TOKEN = re.compile(r"\^\*|\*+")


def substitute(text: str, index: int) -> str:
    """``text`` with every star run replaced by ``index`` (padded to the run's length) and ``^*`` by ``*``."""
    if "*" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "^*":
            return "*"
        return format(index, f"0{len(token)}d")

    return _TOKEN.sub(replace, text)


def sweep_indices(sweep: SweepRange) -> range:
    """The indices of a sweep: start, start+step, ... up to and including end."""
    return range(sweep.start, sweep.end + 1, sweep.step)


def expand(spec: TaskSpec) -> Iterator[int]:
    """The indices a task runs: its sweep's range, or the single index 0 for a basic task (lazy)."""
    if index_count(spec) == 0:
        return iter(())
    if spec.sweep is None:
        return iter((0,))
    return iter(sweep_indices(spec.sweep))


def index_count(spec: TaskSpec) -> int:
    """How many indices the task runs: a NodePrep or NodeRelease runs per node instead, with none."""
    if spec.type is not None and spec.type.per_node:
        return 0
    return 1 if spec.sweep is None else len(sweep_indices(spec.sweep))


def index_at(spec: TaskSpec, position: int) -> int:
    """The index at ``position`` (0-based) of a task's expansion, without expanding it."""
    if spec.sweep is None:
        return 0
    return sweep_indices(spec.sweep)[position]


def index_position(spec: TaskSpec, index: int) -> int | None:
    """Where ``index`` sits in the task's expansion, or None if the task has no such index."""
    indices = range(0, index_count(spec)) if spec.sweep is None else sweep_indices(spec.sweep)
    try:
        return indices.index(index)
    except ValueError:
        return None
