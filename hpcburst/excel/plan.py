"""The two documents of a case sweep: the plan every index reads, and the result each index writes.

Plain dataclasses and JSON, so the node-side runner starts without importing the client's stack.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hpcburst.excel.engine import Value

PLAN_FILE = "sweep-plan.json"  # the plan's name in a task's directory
BOOK_FILE = "book.xlsx"


@dataclass(frozen=True)
class SweepPlan:
    """What index ``i`` calculates: ``cases[i]`` set into ``inputs``, then ``outputs`` read."""

    book_sha256: str
    inputs: list[str]  # cells, one per cases column (defined names already resolved)
    outputs: list[str]  # cells
    cases: list[dict[str, Value]]  # each case's overrides (cell -> value; blanks left out)
    headers: list[str] = field(default_factory=list)  # the cases table's headers, for the results
    rows: list[list[Value]] = field(default_factory=list)  # the cases table as written, for the results

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SweepPlan:
        return cls(**json.loads(text))

    @classmethod
    def read(cls, path: Path) -> SweepPlan:
        return cls.from_json(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class CaseResult:
    """One case's outputs (cell -> value, a failed formula as its cell error) and where it ran."""

    index: int
    outputs: dict[str, Value]
    node: str = ""
    seconds: float = 0.0  # calculating, not parsing
    error: str = ""  # the case could not be calculated at all (the runner failed): why

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> CaseResult:
        body: dict[str, Any] = json.loads(text)
        return cls(**body)


def result_name(index: int) -> str:
    """The per-index result file (the runner writes it; the job's output staging uploads it)."""
    return f"case-{index:06d}.json"


RESULT_PATTERN = "case-******.json"  # result_name with the sweep's `*` index substitution
