"""HPC Pack's task types and the per-task failure attributes (pure).

- ``Basic``: runs once, as index 0. ``ParametricSweep``: once per index of its ``sweep``.
- ``NodePrep``: runs once on each node before any other task of the job there; a node where it fails is
  excluded from the job. ``NodeRelease``: runs once on each node when the job leaves it (ends, or is
  canceled without ``force``), under its own time limit. Neither has indices: they are per-node steps
  (``hpcburst.domain.node_steps``), not task documents.

``valid_exit_codes`` is HPC Pack's syntax: comma-separated codes and inclusive ranges, ``0,3..5``; ``min``
and ``max`` stand for the ends of the integer range (``0..max``). Unset: only 0 is success.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # exit codes are 32-bit (Windows reports unsigned ones as negative)
NODE_RELEASE_DEFAULT_LIMIT = 15.0  # seconds (HPC Pack's NodeReleaseTaskTimeout) when max_run_time is unset
_CODE = re.compile(r"^\s*(-?\d+|min|max)\s*$")


class TaskType(StrEnum):
    BASIC = "Basic"
    PARAMETRIC_SWEEP = "ParametricSweep"
    NODE_PREP = "NodePrep"
    NODE_RELEASE = "NodeRelease"

    @property
    def per_node(self) -> bool:
        """Runs once per node (no indices, no dependencies) rather than as indices of the job."""
        return self in (TaskType.NODE_PREP, TaskType.NODE_RELEASE)

    @classmethod
    def _missing_(cls, value: Any) -> TaskType | None:
        # Accept "nodeprep", "node-prep", "parametric_sweep": people type these.
        if isinstance(value, str):
            key = value.replace("-", "").replace("_", "").replace(" ", "").lower()
            for member in cls:
                if member.value.lower() == key:
                    return member
        return None


class FieldError(ValueError):
    """A spec error that knows which field it is about (e.g. ``tasks[2].depends_on``), for the 400."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_exit_codes(text: str) -> list[tuple[int, int]]:
    """``"0,3..5"`` -> ``[(0, 0), (3, 5)]``; ValueError naming the bad part."""
    ranges = []
    for part in text.split(","):
        lo_text, sep, hi_text = part.partition("..")
        lo, hi = _code(lo_text, part), _code(hi_text if sep else lo_text, part)
        if hi < lo:
            raise ValueError(f"{part.strip()!r}: a range runs from low to high")
        ranges.append((lo, hi))
    return ranges


def _code(text: str, part: str) -> int:
    match = _CODE.match(text)
    if match is None:
        raise ValueError(f"{part.strip()!r} is not an exit code or a range LOW..HIGH (e.g. 0,3..5)")
    word = match.group(1)
    value = INT_MIN if word == "min" else INT_MAX if word == "max" else int(word)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"{word} is not a 32-bit exit code")
    return value


def exit_ok(exit_code: int | None, valid_exit_codes: str | None) -> bool:
    """Whether ``exit_code`` means success (None: the process never ran, never a success)."""
    if exit_code is None:
        return False
    if valid_exit_codes is None:
        return exit_code == 0
    return any(lo <= exit_code <= hi for lo, hi in parse_exit_codes(valid_exit_codes))


class GroupDependency(BaseModel):
    """Tasks of group ``child`` start only after every task of group ``parent`` (HPC Pack XML task groups)."""

    model_config = ConfigDict(extra="forbid")

    parent: int = Field(ge=0)
    child: int = Field(ge=0)
