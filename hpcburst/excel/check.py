"""Checked before submit: what would make a book fail on every node is refused on the client, naming cells.

- functions the engine cannot calculate (each function with the cells that use it);
- references to other workbooks (``[1]Sheet!A1``, ``'[prices.xlsx]Sheet'!A1``, external links), which the
  nodes do not have;
- inputs and outputs on sheets the book does not have.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.workbook.workbook import Workbook

from hpcburst.errors import InvalidSpec
from hpcburst.excel.addresses import split_sheet

_STRING = re.compile(r'"(?:[^"]|"")*"')
_EXTERNAL = re.compile(r"\[[^\]]+\][^!]*!")  # [1]Sheet!  or  '[book.xlsx]Sheet'!  (structured refs have no !)
SHOWN_CELLS = 5  # cells named per function in a refusal; the rest are counted


def open_formulas(path: Path) -> Workbook:
    """The book with its formulas as text (not the values Excel cached)."""
    try:
        return load_workbook(path, data_only=False, read_only=False)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds for "not an xlsx"
        raise InvalidSpec(f"{path}: not a readable .xlsx workbook ({e})") from None


def formulas(book: Workbook) -> Iterator[tuple[str, str]]:
    """(cell, formula) for every formula cell, array formulas included."""
    for sheet in book.worksheets:
        prefix = sheet.title if re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", sheet.title) else f"'{sheet.title}'"
        for row in sheet.iter_rows():
            for one in row:
                text = _formula_text(one.value)
                if text:
                    yield f"{prefix}!{one.coordinate}", text


def _formula_text(value: Any) -> str | None:
    text = getattr(value, "text", value)  # an ArrayFormula keeps its formula in .text
    return text if isinstance(text, str) and text.startswith("=") else None


def functions_called(formula: str) -> set[str]:
    """The functions ``formula`` calls, as written (``SUM``, ``_xlfn.XLOOKUP``)."""
    try:
        tokens = Tokenizer(formula).items
    except Exception:  # noqa: BLE001 - openpyxl's tokenizer raises plain errors on malformed text
        return {"(a formula that cannot be read)"}
    return {t.value[:-1] for t in tokens if t.type == Token.FUNC and t.subtype == Token.OPEN}


def refusals(book: Workbook, missing: Any, cells: Iterable[str] = ()) -> list[str]:
    """What stops the book from being calculated on the nodes (empty: nothing). ``missing(formula)`` is the
    engine's ``missing_functions``, asked once per distinct function (a 10,000-formula book calls a few
    dozen); ``cells`` the inputs and outputs the sweep names."""
    unsupported: dict[str, list[str]] = defaultdict(list)
    external: list[str] = []
    verdicts: dict[str, set[str]] = {}
    for address, text in formulas(book):
        if _EXTERNAL.search(_STRING.sub('""', text)):
            external.append(address)
        for called in functions_called(text):
            if called not in verdicts:
                verdicts[called] = missing(f"={called}()") if not called.startswith("(") else {called}
            for name in verdicts[called]:
                unsupported[name].append(address)
    found = []
    if unsupported:
        found.append("functions the engine cannot calculate: " + "; ".join(
            f"{name} in {_listed(where)}" for name, where in sorted(unsupported.items())))  # fmt: skip
    if external:
        found.append(f"references to other workbooks in {_listed(external)}")
    links = [getattr(getattr(link, "file_link", None), "Target", "?") for link in book._external_links]
    if links and not external:
        found.append(f"links to other workbooks ({', '.join(map(str, links))})")
    sheets = set(book.sheetnames)
    for ref in cells:
        sheet, _ = split_sheet(ref)
        if sheet is not None and sheet not in sheets:
            found.append(
                f"{ref} is on sheet {sheet!r}, which the book does not have ({', '.join(book.sheetnames)})"
            )
    return found


def _listed(cells: list[str]) -> str:
    more = len(cells) - SHOWN_CELLS
    return ", ".join(cells[:SHOWN_CELLS]) + (f" (and {more} more)" if more > 0 else "")


def check_book(path: Path, cells: Iterable[str] = (), functions: Any = None) -> Workbook:
    """The book's formulas, or InvalidSpec listing every reason the nodes could not calculate it."""
    from hpcburst.excel.engine import missing_functions

    book = open_formulas(path)
    found = refusals(book, lambda text: missing_functions(text, functions), cells)
    if found:
        raise InvalidSpec(f"{path.name} cannot be swept: " + "; ".join(found), field="book")
    return book
