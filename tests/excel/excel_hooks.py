"""An HPC_Execute hook for the tests: importable as ``excel_hooks:doubled`` where the tests run."""

from __future__ import annotations

from hpcburst.excel.engine import Book, Value
from hpcburst.excel.plan import SweepPlan


def doubled(book: Book, plan: SweepPlan, index: int) -> dict[str, Value]:
    """Calculate the case, then report each numeric output twice over (a custom post-processing step)."""
    values = book.calculate(plan.cases[index], plan.outputs)
    return {
        cell: v * 2 if isinstance(v, int | float) and not isinstance(v, bool) else v
        for cell, v in values.items()
    }
