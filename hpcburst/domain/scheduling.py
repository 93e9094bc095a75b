"""Scheduling modes (pure): which jobs a lease call serves, and how many indices each gets.

HPC Pack's two modes. **Queued**: jobs are served strictly in ``priority_order`` (priority, then submit
time), so a big sweep keeps a later job of the same priority waiting until it runs out of queued work.
**Balanced** (the default): higher priorities still go first, but jobs of *equal* priority share what a
lease call hands out, so their held indices level out; a small job submitted behind a huge sweep starts
at the sweep's next lease call, on any node.

"Held" counts a job's Running indices cluster-wide (a node's local backlog of leased short tasks
included), which is what makes the share fair across nodes, not only within one call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from itertools import groupby

from hpcburst.domain.job import Job
from hpcburst.domain.leasing import priority_order
from hpcburst.errors import ConfigError


class SchedulingMode(StrEnum):
    QUEUED = "Queued"
    BALANCED = "Balanced"

    @classmethod
    def parse(cls, text: str | None) -> SchedulingMode:
        """A mode from its name in any case; None or empty is the default, Balanced."""
        if not text:
            return cls.BALANCED
        for mode in cls:
            if mode.value.lower() == text.strip().lower():
                return mode
        raise ConfigError(f"scheduling mode {text!r}: use 'balanced' or 'queued'")


def service_groups(jobs: Iterable[Job], mode: SchedulingMode) -> list[list[Job]]:
    """The jobs in the order a lease call serves them, grouped into the sets that share: each job alone
    (Queued), or each band of equal priority (Balanced). Groups come highest priority first."""
    ordered = priority_order(jobs)
    if mode == SchedulingMode.QUEUED:
        return [[job] for job in ordered]
    return [list(band) for _, band in groupby(ordered, key=lambda j: j.priority.rank)]


def balanced_shares(wanted: int, held: Sequence[int]) -> list[int]:
    """How many of ``wanted`` indices each job of a band gets, given how many each already holds.

    Water-filling: the jobs holding least are raised first, so held + share levels out; what cannot be
    split evenly goes to the earlier jobs (the band's order). The shares add up to ``wanted``."""
    if wanted <= 0 or not held:
        return [0] * len(held)
    level = _level(wanted, held)
    shares = [max(0, level - h) for h in held]
    left = wanted - sum(shares)
    for i, h in enumerate(held):  # one more each for the earliest jobs at the level, while any is left
        if left == 0:
            break
        if h <= level:
            shares[i] += 1
            left -= 1
    return shares


def _level(wanted: int, held: Sequence[int]) -> int:
    """The highest level L with sum(max(0, L - h)) <= wanted (binary search)."""
    low, high = min(held), min(held) + wanted
    while low < high:
        mid = (low + high + 1) // 2
        if sum(max(0, mid - h) for h in held) <= wanted:
            low = mid
        else:
            high = mid - 1
    return low
