"""The workbook recalculation engine: the one module that imports it, so it can be swapped.

The engine is **pycel** (``pycel.ExcelCompiler``). Measured on this project's 2-core machine with a generated
book of 10,000 formulas (a 2,500-row chain, IF/ROUND/MAX/MIN, SUM and AVERAGE over 2,500 cells):

=====================================  ==============  ==========================
                                        pycel 1.0b30    formulas 1.3.4
=====================================  ==============  ==========================
load + first calculation (compile)      6.8 s           18.6 s parse + 3.5 s compile
one more case (5 inputs changed)        0.15 s          4.2 s (schedula dispatch)
compiled form saved for another         yes (to_file;   no: the model does not
process (the node cache)                ~0.2 s to load, pickle
                                        ~1 s first calc)
=====================================  ==============  ==========================

A case sweep is recalculation many times over, on nodes where every index is its own process: pycel's
~28x faster recalculation and its reloadable compiled form decide it. Both can call Python for a custom
function name (the later UDF offload): here ``functions`` become a pycel "plugin" module. What pycel costs,
all kept in this module:

- it evaluates recursively, so a long chain of cells needs a deep stack: calculations run on a thread with one;
- 1.0b30 (2021) predates openpyxl 3.1, whose defined names it cannot read (names in formulas gave #NAME?),
  and wraps library functions once per formula; both are patched below;
- it is GPLv3 (and pins networkx < 2.7), where formulas is EUPL-1.1+. hpcburst declares no license of its own,
  so pycel is an optional extra (``hpcburst[excel]``), imported by this module only, never by the Function App
  or the node agent. If GPLv3 is not acceptable for a distribution, formulas drops in behind this same
  interface (``Book``, ``missing_functions``) at the recalculation cost above.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import types
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pycel import ExcelCompiler
from pycel.excelformula import ExcelFormula
from pycel.excelutil import ERROR_CODES
from pycel.excelwrapper import ExcelOpxWrapper
from pycel.lib import function_helpers
from pycel.lib.function_helpers import load_functions

Value = float | int | str | bool | None
Functions = Mapping[str, Callable[..., Any]]  # Excel function name (PRICEOPT) -> a Python function

CELL_ERRORS = frozenset(ERROR_CODES)  # "#DIV/0!", "#N/A", ...
ENGINE = "pycel"
_STACK_BYTES = 512 * 1024 * 1024  # a 100,000-cell chain recurses ~4 frames per cell
_RECURSION = 1_000_000
_PLUMBING = frozenset({"_C_", "_R_", "_REF_", "lambdas", "pi", "excel_operator_operand_fixup"})
_FUNC_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")
T = TypeVar("T")

logging.getLogger("pycel").setLevel(logging.CRITICAL)  # a #DIV/0! is a result, not a log line per cell


def _defined_names(wrapper: Any) -> dict[str, list[tuple[str, str]]]:
    """pycel 1.0b30 reads ``workbook.defined_names.definedName``, which openpyxl 3.1 replaced by a dict (and
    sheet-scoped names moved to each sheet): names in formulas gave #NAME? without this."""
    if wrapper.workbook is not None and wrapper._defined_names is None:
        book = wrapper.workbook
        names = getattr(book.defined_names, "definedName", None) or list(book.defined_names.values())
        for sheet in book.worksheets:
            names += [
                n for key, n in getattr(sheet, "defined_names", {}).items() if key not in book.defined_names
            ]
        wrapper._defined_names = {}
        for name in names:
            found = [(alias, sheet) for sheet, alias in name.destinations if sheet in book]
            if found:
                wrapper._defined_names[str(name.name)] = found
    return wrapper._defined_names  # type: ignore[no-any-return]


ExcelOpxWrapper.defined_names = property(_defined_names)  # type: ignore[method-assign,assignment]

_apply_meta = function_helpers.apply_meta
_wrapped: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _apply_meta_once_per_book(f: Any, meta: Any = None, name_space: Any = None) -> Any:
    """pycel wraps a library function (argument coercion, error passing) afresh for every formula that calls
    it: 2 of the 5 s a node spends bringing a 10,000-formula book back from the cache. The wrapper depends
    only on the function and the book's evaluator (``_C_``), so it is made once per pair."""
    evaluator = (name_space or {}).get("_C_")
    if meta is not None or evaluator is None:
        return _apply_meta(f, meta, name_space)
    per_book = _wrapped.setdefault(evaluator, {})
    if f not in per_book:
        per_book[f] = _apply_meta(f, meta, name_space)
    return per_book[f]


function_helpers.apply_meta = _apply_meta_once_per_book


class Book:
    """A workbook compiled for recalculation: set input cells, read output cells, any number of times."""

    def __init__(self, compiler: ExcelCompiler) -> None:
        self._xl = compiler
        self._base: dict[str, Value] = {}  # an overridden cell's own value, restored when a case leaves it

    @classmethod
    def load(cls, path: Path | str, functions: Functions | None = None) -> Book:
        """Parse an .xlsx (formulas compile lazily, on first calculation)."""
        return cls(ExcelCompiler(filename=str(path), plugins=_plugins(functions)))

    @classmethod
    def from_compiled(cls, path: Path | str, functions: Functions | None = None) -> Book:
        """A book ``save_compiled`` wrote: no workbook parsing."""
        return cls(ExcelCompiler.from_file(str(path), plugins=_plugins(functions)))

    def prepare(self, cells: Iterable[str]) -> None:
        """Calculate ``cells`` once, so they and everything they depend on are compiled (and saved by
        ``save_compiled``). Inputs must be among them: only cells the book has compiled can be set."""
        for address in cells:
            _on_deep_stack(self._value, address)

    def save_compiled(self, path: Path | str) -> None:
        """Write the compiled form (``.pkl``) of what ``prepare`` reached."""
        self._xl.to_file(str(path), file_types=("pkl",))

    def calculate(self, overrides: Mapping[str, Value], outputs: Sequence[str]) -> dict[str, Value]:
        """Set ``overrides`` (cell -> value; cells a previous case set and this one does not get their own
        value back), then the value of each output cell. A formula that fails gives its cell error."""
        return _on_deep_stack(self._calculate, overrides, outputs)

    def _calculate(self, overrides: Mapping[str, Value], outputs: Sequence[str]) -> dict[str, Value]:
        for address in list(self._base):
            if address not in overrides:
                self._xl.set_value(address, self._base.pop(address))
        for address, value in overrides.items():
            if address not in self._base:
                self._base[address] = self._value(address)
            self._xl.set_value(address, value)
        return {address: self._value(address) for address in outputs}

    def _value(self, address: str) -> Value:
        try:
            return plain(self._xl.evaluate(address))
        except Exception:  # noqa: BLE001 - a formula the engine cannot evaluate: Excel shows #VALUE!
            return "#VALUE!"


def plain(value: Any) -> Value:
    """A JSON- and openpyxl-friendly value (numpy scalars become Python ones; a whole-range answer its first
    cell, as Excel shows an array formula's top-left cell)."""
    while isinstance(value, tuple | list):
        value = value[0] if value else None
    if hasattr(value, "item"):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def missing_functions(formula: str, functions: Functions | None = None) -> set[str]:
    """The Excel functions in ``formula`` the engine cannot calculate (with ``functions`` plugged in)."""
    try:
        names = set(ExcelFormula(formula).compiled_python[1]) - _PLUMBING
    except Exception:  # noqa: BLE001 - the engine cannot even parse it
        return {"(formula the engine cannot parse)"}
    modules = tuple(
        __import__(m, fromlist=["_"]) for m in (*_plugins(functions), *ExcelFormula.default_modules)
    )
    missing = load_functions(names, {}, modules)
    written = {_key(name): name for name in _FUNC_TOKEN.findall(formula)}
    return {written.get(_key(name), name.rstrip("_").upper()).removeprefix("_xlfn.") for name in missing}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower().removeprefix("_xlfn."))


_PLUGIN_MODULES: dict[frozenset[tuple[str, Any]], str] = {}


def _plugins(functions: Functions | None) -> list[str]:
    """pycel finds functions by lower-case name in plugin modules: ``functions`` as such a module (one per
    distinct set of functions, so books sharing a set share the module)."""
    if not functions:
        return []
    key = frozenset(functions.items())
    if key not in _PLUGIN_MODULES:
        module = types.ModuleType(f"hpcburst_excel_functions_{uuid.uuid4().hex}")
        for name, fn in functions.items():
            setattr(module, name.lower().replace(".", "_"), fn)
        sys.modules[module.__name__] = module
        _PLUGIN_MODULES[key] = module.__name__
    return [_PLUGIN_MODULES[key]]


def _on_deep_stack(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` on a thread with a deep stack: pycel recurses once per cell along a dependency chain."""
    if getattr(_deep, "inside", False):
        return fn(*args)
    box: dict[str, Any] = {}

    def run() -> None:
        _deep.inside = True
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised on the caller's thread
            box["error"] = e

    previous = threading.stack_size(_STACK_BYTES)
    try:
        sys.setrecursionlimit(max(sys.getrecursionlimit(), _RECURSION))
        worker = threading.Thread(target=run, name="excel-calc")
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


_deep = threading.local()
