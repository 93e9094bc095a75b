"""The cases table: one row per case, one column per input (a header like ``Inputs!B2`` or a defined name).

Read from CSV or from the first sheet of an .xlsx. A blank entry keeps the book's own value for that case.
CSV text becomes a number or TRUE/FALSE where it reads as one, as Excel would take it when typed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from hpcburst.errors import InvalidSpec
from hpcburst.excel.addresses import cell
from hpcburst.excel.engine import Value

MAX_CASES = 1_000_000


@dataclass(frozen=True)
class CaseTable:
    headers: list[str]  # as written in the table
    rows: list[list[Value]]

    def __len__(self) -> int:
        return len(self.rows)

    def overrides(self, row: int, cells: list[str]) -> dict[str, Value]:
        """Case ``row`` as cell -> value, blanks left out (``cells``: the headers resolved)."""
        return {c: v for c, v in zip(cells, self.rows[row], strict=True) if v is not None and v != ""}


def read_cases(path: Path) -> CaseTable:
    """A CSV or .xlsx cases table; InvalidSpec names the file and what is wrong with it."""
    if not path.is_file():
        raise InvalidSpec(f"--cases {path}: no such file", field="cases")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheet = load_workbook(path, data_only=True, read_only=True).worksheets[0]
        table = [[_blank(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() in (".csv", ".txt"):
        with path.open(newline="", encoding="utf-8-sig") as f:
            table = [[typed(v) for v in row] for row in csv.reader(f)]
    else:
        raise InvalidSpec(f"--cases {path}: give a .csv or .xlsx table", field="cases")
    table = [row for row in table if any(v is not None for v in row)]
    if not table or not any(table[0]):
        raise InvalidSpec(
            f"--cases {path}: the first row must name the input cells, e.g. Inputs!B2", field="cases"
        )
    headers = [str(h).strip() if h is not None else "" for h in table[0]]
    if "" in headers:
        raise InvalidSpec(
            f"--cases {path}: column {headers.index('') + 1} has no header (an input cell or name)"
        )
    rows = [(row + [None] * len(headers))[: len(headers)] for row in table[1:]]
    if not rows:
        raise InvalidSpec(f"--cases {path}: no cases below the header row", field="cases")
    if len(rows) > MAX_CASES:
        raise InvalidSpec(f"--cases {path}: {len(rows)} cases; at most {MAX_CASES} per sweep", field="cases")
    return CaseTable(headers, rows)


def input_cells(headers: list[str], book: Workbook) -> list[str]:
    """Each header as the one cell it sets: ``Inputs!B2`` as is, a defined name through the book."""
    return [_resolve(h, book) for h in headers]


def _resolve(header: str, book: Workbook) -> str:
    if "!" in header:
        return cell(header)
    name = book.defined_names.get(header)
    if name is None:
        raise InvalidSpec(
            f"cases header {header!r} is neither a cell (like Inputs!B2) nor a name the book defines"
            + (f" ({', '.join(sorted(book.defined_names))})" if book.defined_names else ""),
            field="cases",
        )
    targets = list(name.destinations)
    if len(targets) != 1 or ":" in targets[0][1]:
        raise InvalidSpec(
            f"cases header {header!r} names {name.attr_text}: an input must be one cell", field="cases"
        )
    sheet, where = targets[0]
    return cell(where, default_sheet=sheet)


def typed(text: str) -> Value:
    text = text.strip()
    if text == "":
        return None
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _blank(value: object) -> Value:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # dates and times travel as text; the engine reads them as Excel would
