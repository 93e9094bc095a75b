"""Job, task and node states (as in HPC Pack) and job priorities."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Priority(StrEnum):
    """Job priority; higher ranks are leased first (then earlier submission)."""

    LOWEST = "Lowest"
    BELOW_NORMAL = "BelowNormal"
    NORMAL = "Normal"
    ABOVE_NORMAL = "AboveNormal"
    HIGHEST = "Highest"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def _missing_(cls, value: Any) -> Priority | None:
        # Accept "normal", "above-normal", "above_normal": people type these.
        if isinstance(value, str):
            key = value.replace("-", "").replace("_", "").replace(" ", "").lower()
            for member in cls:
                if member.value.lower() == key:
                    return member
        return None


_RANKS = {p: i for i, p in enumerate(Priority)}


class _Lifecycle(StrEnum):
    """What job and task states share: which stages are final. They stay two types, as in HPC Pack
    (where the two lists differ), so a job's state is never taken for an index's."""

    @property
    def terminal(self) -> bool:
        return self.value in _FINAL


_FINAL = frozenset({"Finished", "Failed", "Canceled"})


class JobState(_Lifecycle):
    CONFIGURING = "Configuring"
    SUBMITTED = "Submitted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINISHED = "Finished"
    FAILED = "Failed"
    CANCELED = "Canceled"


class TaskState(_Lifecycle):
    CONFIGURING = "Configuring"
    SUBMITTED = "Submitted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINISHED = "Finished"
    FAILED = "Failed"
    CANCELED = "Canceled"


# Task states that still need work (a batch is done when none of its indices is in one of these).
OPEN_TASK_STATES: tuple[str, ...] = (TaskState.SUBMITTED, TaskState.QUEUED, TaskState.RUNNING)
# Indices `requeue` puts back in the queue.
REQUEUABLE_TASK_STATES: tuple[str, ...] = (TaskState.FAILED, TaskState.CANCELED)


class NodeState(StrEnum):
    ONLINE = "Online"  # takes new work
    OFFLINE = "Offline"  # drained by an operator: finishes what it runs, takes nothing new
    UNREACHABLE = "Unreachable"  # heartbeats stopped; its leased work was re-queued
