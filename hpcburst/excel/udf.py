"""User-defined functions for workbooks (issue 12, UDF offload): ``@hpcburst.excel.udf``.

    import hpcburst.excel

    @hpcburst.excel.udf                      # =PRICEOPT(A2, B2, C2) in a cell
    def priceopt(spot, strike, vol):
        ...

    @hpcburst.excel.udf(name="NORM.PRICE")   # a name of its own
    def norm_price(x):
        ...

A UDF must be pure (its value depends on its arguments only) and cluster-safe (no local files, no state
between calls): ``hpcburst excel calc`` calls each distinct ``(function, arguments)`` once, on any host, and
caches the value. This module is stdlib only: service hosts import it with the author's module, without the
recalculation engine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])
Value = float | int | str | bool | None
Args = tuple[Any, ...]  # cell values; a range argument is a tuple of rows, each a tuple of values
Call = tuple[str, Args]  # (UDF name as cells write it, arguments): the cache key
Outcome = tuple[Value, str | None]  # (the cell's value, why it is an error cell: None when it is not)

ATTRIBUTE = "__hpcburst_udf__"  # the Excel name a decorated function answers to
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")
ERROR_CELL = "#VALUE!"  # what a UDF that raises shows, as Excel shows for a failing UDF


@overload
def udf(fn: F, /) -> F: ...


@overload
def udf(fn: None = None, /, *, name: str | None = None) -> Callable[[F], F]: ...


def udf(fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Mark ``fn`` as a UDF, callable from cells as ``name`` (default: its own name, upper-cased)."""

    def mark(f: F) -> F:
        excel_name = (name or f.__name__).upper()
        if not _NAME.match(excel_name):
            raise ValueError(f"UDF name {excel_name!r}: letters, digits, '_' and '.', starting with a letter")
        setattr(f, ATTRIBUTE, excel_name)
        return f

    return mark if fn is None else mark(fn)


def udfs_of(module: ModuleType) -> dict[str, Callable[..., Any]]:
    """The module's UDFs by Excel name (upper case)."""
    found: dict[str, Callable[..., Any]] = {}
    for value in vars(module).values():
        excel_name = getattr(value, ATTRIBUTE, None)
        if isinstance(excel_name, str) and callable(value):
            if found.get(excel_name, value) is not value:
                raise ValueError(f"{module.__name__}: two UDFs are named {excel_name}")
            found[excel_name] = value
    return found


def call_udf(fn: Callable[..., Any], args: Args) -> Outcome:
    """``fn(*args)`` as a cell shows it: a value, or ``#VALUE!`` with the reason when the UDF raises.
    The local baseline and the cluster's hosts both call through here, so both give the same cells."""
    try:
        return cell_value(fn(*args)), None
    except Exception as e:  # noqa: BLE001 - any failure of the author's code is an error cell, not a crash
        reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return ERROR_CELL, reason.splitlines()[0][:500]


def cell_value(value: Any) -> Value:
    """What a cell can hold: numpy scalars become numbers, an array its top-left value (as Excel shows an
    array in one cell), NaN and infinities ``#NUM!``, anything else its text."""
    while isinstance(value, tuple | list):
        value = value[0] if value else None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "#NUM!"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def as_tuples(value: Any) -> Any:
    """Arguments back from JSON: lists (ranges) become the tuples a local call gets."""
    return tuple(as_tuples(v) for v in value) if isinstance(value, list | tuple) else value
