"""Cell addresses as analysts write them: ``Out!C10``, ``'My Sheet'!D4:D8``, ``$B$2``, or a defined name.

Pure: parsing, normalising (``Out!C10``, quotes only where a sheet name needs them, no ``$``) and expanding a
range into its cells, so the client and the nodes agree on one spelling of every address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from openpyxl.utils.cell import get_column_letter, range_boundaries

from hpcburst.errors import InvalidSpec

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")
_BARE_SHEET = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
MAX_RANGE_CELLS = 100_000  # one output range this large is a mistake, not a sweep


def _sheet_text(sheet: str) -> str:
    return sheet if _BARE_SHEET.match(sheet) else "'" + sheet.replace("'", "''") + "'"


def split_sheet(ref: str) -> tuple[str | None, str]:
    """(sheet or None, the part after ``!``) of ``Sheet!A1`` / ``'A sheet'!A1:B2`` / ``A1``."""
    ref = ref.strip()
    if ref.startswith("'"):
        end = ref.find("'!", 1)
        while end != -1 and ref[end - 1 : end + 1] == "''" and end > 1:  # '' is an escaped quote
            end = ref.find("'!", end + 1)
        if end == -1:
            raise InvalidSpec(f"{ref!r}: a quoted sheet name needs its closing quote, e.g. 'My sheet'!B2")
        return ref[1:end].replace("''", "'"), ref[end + 2 :]
    sheet, bang, rest = ref.rpartition("!")
    return (sheet, rest) if bang else (None, ref)


def cell(ref: str, default_sheet: str | None = None) -> str:
    """One cell, normalised: ``Inputs!$B$2`` -> ``Inputs!B2``. InvalidSpec names what is wrong."""
    sheet, where = split_sheet(ref)
    sheet = sheet or default_sheet
    match = _CELL.match(where.strip())
    if not sheet or not match:
        raise InvalidSpec(f"{ref!r} is not a cell: write SHEET!CELL, e.g. Inputs!B2")
    return f"{_sheet_text(sheet)}!{match[1].upper()}{match[2]}"


def cells(ref: str) -> list[str]:
    """Every cell of ``Sheet!A1`` or ``Sheet!D4:D8`` (row by row), normalised."""
    sheet, where = split_sheet(ref)
    if ":" not in where:
        return [cell(ref)]
    if not sheet:
        raise InvalidSpec(f"{ref!r}: name the sheet, e.g. Out!D4:D8")
    try:
        min_col, min_row, max_col, max_row = range_boundaries(where.replace("$", "").upper())
    except ValueError:
        raise InvalidSpec(f"{ref!r} is not a range: write SHEET!FIRST:LAST, e.g. Out!D4:D8") from None
    if None in (min_col, min_row, max_col, max_row):
        raise InvalidSpec(f"{ref!r}: whole rows or columns are not outputs; give a range like Out!D4:D8")
    count = (max_col - min_col + 1) * (max_row - min_row + 1)  # type: ignore[operator]
    if count > MAX_RANGE_CELLS:
        raise InvalidSpec(f"{ref!r} has {count} cells; outputs are limited to {MAX_RANGE_CELLS} per range")
    text = _sheet_text(sheet)
    return [
        f"{text}!{get_column_letter(col)}{row}"
        for row in range(min_row, max_row + 1)  # type: ignore[arg-type]
        for col in range(min_col, max_col + 1)  # type: ignore[arg-type]
    ]


def output_cells(spec: str | Iterable[str]) -> list[str]:
    """``"Out!C10,Out!D4:D8"`` (or a list of such) as the cells they name, in order, each once."""
    parts = _split_list(spec) if isinstance(spec, str) else [p for item in spec for p in _split_list(item)]
    if not parts:
        raise InvalidSpec('no outputs: give cells or ranges, e.g. --outputs "Out!C10,Out!D4:D8"')
    seen: dict[str, None] = {}
    for part in parts:
        for one in cells(part):
            seen.setdefault(one, None)
    return list(seen)


def _split_list(text: str) -> list[str]:
    """Split on commas that are not inside a quoted sheet name."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]
