"""Spreadsheets on the cluster (issue 12): workbook case sweeps, one sweep index per case.

    from hpcburst.excel import WorkbookJob
    results = WorkbookJob("book.xlsx", "cases.csv", outputs="Out!C10").run(scheduler, store)

Modules: ``engine`` (the one that imports the recalculation engine), ``addresses`` (cell references),
``cases`` (the cases table), ``check`` (refusals before submit), ``plan`` (the documents an index reads and
writes), ``runner`` (the task on a node), ``results`` (the merged table), ``job`` (``WorkbookJob``). Exports are
lazy: the node-side runner imports the engine and the plan only.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "WorkbookJob": "hpcburst.excel.job",
    "SubmittedSweep": "hpcburst.excel.job",
    "SweepResults": "hpcburst.excel.results",
    "SweepPlan": "hpcburst.excel.plan",
    "CaseResult": "hpcburst.excel.plan",
    "CaseTable": "hpcburst.excel.cases",
    "Book": "hpcburst.excel.engine",
}
__all__ = sorted(_EXPORTS)
from hpcburst.excel.udf import udf as udf  # noqa: E402 - the decorator, not the module: @hpcburst.excel.udf


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
