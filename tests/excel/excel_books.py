"""Workbooks the excel tests write with openpyxl, and values cached in them as Excel caches its results.

openpyxl writes formulas without results. ``with_cached_values`` adds a ``<v>`` (and the error type) to
formula cells in the sheet XML, exactly where Excel keeps the value it calculated, so a test reads "what Excel
shows" with ``openpyxl.load_workbook(data_only=True)`` just as it would from a book saved by Excel.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")


def write_book(path: Path, sheets: Mapping[str, Mapping[str, Any]]) -> Path:
    """``{"Sheet": {"A1": 1, "B1": "=A1*2"}}`` as an .xlsx."""
    book = Workbook()
    first = True
    for title, cells in sheets.items():
        sheet = book.active if first else book.create_sheet(title)
        assert sheet is not None
        sheet.title = title
        first = False
        for address, value in cells.items():
            sheet[address] = value
    book.save(path)
    return path


def with_cached_values(path: Path, sheet_index: int, values: Mapping[str, Any]) -> Path:
    """Cache ``values`` (cell -> the value Excel shows) in formula cells of the ``sheet_index``-th sheet."""
    member = f"xl/worksheets/sheet{sheet_index + 1}.xml"
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    xml = parts[member].decode()
    for address, value in values.items():
        pattern = re.compile(
            rf'<c r="{address}"([^>]*)><f>(.*?)</f><v\s*/>|<c r="{address}"([^>]*)><f>(.*?)</f>(<v>.*?</v>)?'
        )
        match = pattern.search(xml)
        assert match, f"{address} is not a formula cell in {member}"
        attrs, formula = (match[1], match[2]) if match[2] is not None else (match[3], match[4])
        attrs = re.sub(r'\s*t="[^"]*"', "", attrs)
        kind = (
            ' t="e"'
            if value in ERRORS
            else ' t="b"'
            if isinstance(value, bool)
            else ' t="str"'
            if isinstance(value, str)
            else ""
        )
        shown = int(value) if isinstance(value, bool) else value
        xml = (
            xml[: match.start()]
            + f'<c r="{address}"{attrs}{kind}><f>{formula}</f><v>{shown}</v>'
            + xml[match.end() :]
        )
    parts[member] = xml.encode()
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    shutil.move(tmp, path)
    return path


def cached_values(path: Path) -> dict[str, Any]:
    """Every formula cell's cached value (``Sheet!A1`` -> value), as a book saved by Excel holds them."""
    formulas = load_workbook(path)
    values = load_workbook(path, data_only=True)
    found = {}
    for sheet in formulas.worksheets:
        for row in sheet.iter_rows():
            for one in row:
                if isinstance(one.value, str) and one.value.startswith("="):
                    cached = values[sheet.title][one.coordinate].value
                    if cached is not None:
                        found[f"{sheet.title}!{one.coordinate}"] = cached
    return found
