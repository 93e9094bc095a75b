"""Merged results (HPC_Merge's default): one row per case, its inputs as written, then its outputs.

A case whose formulas failed shows its cell errors (``#DIV/0!``) where its values would be; a case that was
not calculated at all (its index failed) shows ``#N/A`` in every output and why in the last column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from hpcburst.excel.engine import Value
from hpcburst.excel.plan import CaseResult, SweepPlan

NOT_CALCULATED = "#N/A"


@dataclass(frozen=True)
class SweepResults:
    headers: list[str]  # input headers, then output cells (then "error" when a case was not calculated)
    rows: list[list[Value]]

    def column(self, header: str) -> list[Value]:
        at = self.headers.index(header)
        return [row[at] for row in self.rows]

    def write_xlsx(self, path: Path) -> None:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "Results"
        sheet.append(self.headers)
        for one in sheet[1]:
            one.font = Font(bold=True)
        for row in self.rows:
            sheet.append(row)
            for one in sheet[sheet.max_row]:
                if isinstance(one.value, str) and one.value.startswith("="):
                    one.data_type = (
                        "s"  # text a case produced stays text, never a formula of the results book
                    )
        sheet.freeze_panes = "A2"
        book.save(path)

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(self.headers)
            writer.writerows(["" if v is None else v for v in row] for row in self.rows)


def merge(plan: SweepPlan, results: Sequence[CaseResult | None]) -> SweepResults:
    """The table of ``results`` (index order; None: that case has no result)."""
    failed = any(r is None or r.error for r in results)
    headers = [*plan.headers, *plan.outputs, *(["error"] if failed else [])]
    rows = []
    for index, result in enumerate(results):
        if result is None or result.error:
            outputs: list[Value] = [NOT_CALCULATED] * len(plan.outputs)
            why: list[Value] = [
                result.error if result else f"case {index} was not calculated (its index failed)"
            ]
        else:
            outputs = [result.outputs.get(cell, NOT_CALCULATED) for cell in plan.outputs]
            why = [None] if failed else []
        rows.append([*plan.rows[index], *outputs, *why])
    return SweepResults(headers, rows)
