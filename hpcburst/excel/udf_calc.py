"""Recalculating a book whose cells call UDFs, with the calls done elsewhere, one round per chain level.

Each round evaluates every formula. A UDF call whose ``(function, arguments)`` is cached gives its value; one
that is not is recorded and shows ``#GETTING_DATA`` (Excel's own "not arrived yet" for asynchronous UDFs),
which spreads to whatever depends on it, so a UDF fed by a pending cell records nothing yet. After the round
the distinct recorded calls go to the ``Offload`` in one go (the cluster: one SOA session, batched by its
executor), the cache is filled and the book re-evaluated. A round that records nothing is the final answer:
every value in it came from the cache. A chain of n UDF levels takes n + 1 evaluations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.workbook.workbook import Workbook

from hpcburst.errors import InvalidSpec, InvalidState
from hpcburst.excel.check import formulas, open_formulas, refusals
from hpcburst.excel.engine import CELL_ERRORS, Book, Value, missing_functions
from hpcburst.excel.udf import Args, Call, Outcome, as_tuples, call_udf

PENDING = "#GETTING_DATA"
MAX_ROUNDS = 20
Offload = Callable[[Sequence[Call]], Iterable[tuple[Call, Outcome]]]  # distinct calls -> their outcomes


class UdfCache:
    """Outcomes by ``(function, arguments)``, and the calls a round found missing."""

    def __init__(self) -> None:
        self.outcomes: dict[Call, Outcome] = {}
        self.pending: dict[Call, None] = {}  # insertion-ordered set: calls go out in the book's order
        self.calls = 0  # UDF calls cells made in the last round, cached or not

    def functions(self, names: Iterable[str]) -> dict[str, Callable[..., Any]]:
        """One stand-in per UDF name for the engine: it answers from the cache or records the call."""
        return {name: self._stand_in(name) for name in names}

    def _stand_in(self, name: str) -> Callable[..., Value]:
        outcomes, pending = self.outcomes, self.pending

        def udf_cell(*args: Any) -> Value:
            self.calls += 1
            key = _key(name, args)
            known = outcomes.get(key)
            if known is not None:
                return known[0]
            error = _error_in(args)
            if error is not None:  # as Excel functions do: an error argument is the answer, nothing is called
                return error
            pending[key] = None
            return PENDING

        udf_cell.__name__ = name.lower()
        return udf_cell

    def fill(self, answered: Iterable[tuple[Call, Outcome]]) -> None:
        self.outcomes.update(answered)

    @property
    def errors(self) -> dict[Call, str]:
        """Calls whose UDF raised, with the reason."""
        return {call: reason for call, (_, reason) in self.outcomes.items() if reason is not None}


def local_offload(udfs: dict[str, Callable[..., Any]]) -> Offload:
    """The baseline: every call in this process, one after another."""
    return lambda calls: [(call, call_udf(udfs[call[0]], call[1])) for call in calls]


@dataclass
class Calculated:
    """A recalculated book: the value of every formula cell, and how it went."""

    book: Workbook  # the book's formulas as openpyxl read them (``write`` replaces them by values)
    values: dict[str, Value]
    rounds: int = 0  # evaluations of the book (chain levels + 1)
    udf_calls: int = 0  # UDF calls made by cells
    distinct_calls: int = 0  # calls offloaded: distinct (function, arguments)
    errors: dict[Call, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # parse, calculate, offload

    @property
    def error_cells(self) -> list[str]:
        return [cell for cell, v in self.values.items() if isinstance(v, str) and v in CELL_ERRORS]

    def write(self, out: Path) -> None:
        """The book with every formula cell holding its value (openpyxl cannot store a formula and its value
        together; the original keeps the formulas)."""
        for address, value in self.values.items():
            sheet, cell = address.rsplit("!", 1)
            self.book[sheet.strip("'").replace("''", "'")][cell].value = value
        self.book.save(out)


class Recalculation:
    """A book checked and loaded for recalculation with UDFs (``load``), then run with an offload (``run``):
    the check comes first, so a book that would be refused opens no session."""

    def __init__(self, path: Path, udf_names: Iterable[str]) -> None:
        """Refuses, naming cells, functions that are neither the engine's nor UDFs, and links to other books."""
        self.path = path
        self.cache = UdfCache()
        functions = self.cache.functions(udf_names)
        started = time.perf_counter()
        self.book = open_formulas(path)
        found = refusals(self.book, lambda text: missing_functions(text, functions))
        if found:
            raise InvalidSpec(f"{path.name} cannot be calculated: " + "; ".join(found), field="book")
        self.cells = [address for address, _ in formulas(self.book)]
        self.engine = Book.load(path, functions)
        self.seconds = {"parse": time.perf_counter() - started, "calculate": 0.0, "offload": 0.0}

    def run(self, offload: Offload, max_rounds: int = MAX_ROUNDS,
            progress: Callable[[int, int], object] = lambda round_, calls: None) -> Calculated:  # fmt: skip
        """Evaluate, offload the round's distinct calls (``progress(round, calls)`` first), repeat until a round
        calls nothing new."""
        cache, seconds = self.cache, self.seconds
        for round_ in range(1, max_rounds + 1):
            started = time.perf_counter()
            if round_ > 1:
                _forget_formula_values(self.engine)
            cache.pending.clear()
            cache.calls = 0
            values = self.engine.calculate({}, self.cells)
            seconds["calculate"] += time.perf_counter() - started
            if not cache.pending:
                return Calculated(self.book, values, round_, cache.calls, len(cache.outcomes), cache.errors,
                                  seconds)  # fmt: skip
            started = time.perf_counter()
            progress(round_, len(cache.pending))
            cache.fill(offload(list(cache.pending)))
            seconds["offload"] += time.perf_counter() - started
        raise InvalidState(
            f"{self.path.name}: UDF calls still waiting on other UDFs after {max_rounds} rounds (a chain deeper "
            f"than {max_rounds - 1} levels, or a UDF that never answers): raise --max-rounds"
        )


def calculate(path: Path, udf_names: Iterable[str], offload: Offload, max_rounds: int = MAX_ROUNDS,
              progress: Callable[[int, int], object] = lambda round_, calls: None) -> Calculated:  # fmt: skip
    """``Recalculation(path, udf_names).run(offload, max_rounds, progress)``."""
    return Recalculation(path, udf_names).run(offload, max_rounds, progress)


def _key(name: str, args: Args) -> Call:
    try:
        hash(args)
        return name, args
    except TypeError:  # a list somewhere in an argument
        return name, as_tuples(args)


def _error_in(args: Args) -> str | None:
    found = None
    for arg in args:
        if isinstance(arg, tuple):
            arg = _error_in(arg)
        if isinstance(arg, str) and arg in CELL_ERRORS:
            if arg == PENDING:
                return arg
            found = found or arg
    return found


def _forget_formula_values(engine: Book) -> None:
    """Make every formula evaluate again (pycel keeps a cell's value until an input it knows changes; a UDF's
    answer arriving is not such a change). Reaches into the engine, as only this module needs it."""
    for cell in engine._xl.cell_map.values():
        if cell.formula or type(cell).__name__ == "_CellRange":  # as pycel's own recalculate() does
            cell.value = None
