"""The task of a case sweep index, on a node: ``python -m hpcburst.excel.runner INDEX``.

It runs in the job's shared directory on the node, where the book and the plan are placed. The book is
compiled once per node: the first index there parses it and saves the compiled form under
``.hpcburst-excel/`` (keyed by the book's sha256 and the cells the sweep sets and reads), holding a file lock
so the node's other slots wait for it rather than parse too; every later index loads the compiled form. The
log says which (``parsed ... on NODE`` once per node, ``compiled form reused`` after). The index's outputs go
to ``case-NNNNNN.json``; a formula error is a value there (``#DIV/0!``), not a failure of the index.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpcburst.excel.engine import Book, Value
from hpcburst.excel.plan import BOOK_FILE, PLAN_FILE, CaseResult, SweepPlan, result_name

CACHE_DIR = ".hpcburst-excel"
Execute = Callable[[Book, SweepPlan, int], dict[str, Value]]


def compiled_book(book: Path, plan: SweepPlan, cache: Path, log: Callable[[str], None] = print) -> Book:
    """The book compiled for ``plan``: from the node cache, else parsed once and saved there."""
    key = hashlib.sha256("\n".join([plan.book_sha256, *plan.inputs, "", *plan.outputs]).encode()).hexdigest()
    cache.mkdir(exist_ok=True)
    compiled = cache / f"{key[:32]}.pkl"
    if (
        compiled.exists()
    ):  # the common case, without the lock: the file appears whole (os.replace) or not at all
        return _reused(compiled, log)
    with (cache / f"{key[:32]}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the node's other slots wait here while the first one parses
        if compiled.exists():
            return _reused(compiled, log)
        started = time.perf_counter()
        parsed = Book.load(book)
        parsed.prepare([*plan.outputs, *plan.inputs])
        parsed.save_compiled(cache / f"{key[:32]}.tmp")
        os.replace(cache / f"{key[:32]}.tmp.pkl", compiled)  # whole or absent: a crash leaves no partial file
        seconds = time.perf_counter() - started
        log(f"parsed {book.name} (sha256 {plan.book_sha256[:12]}) on {node_name()} in {seconds:.2f} s")
        return parsed


def _reused(compiled: Path, log: Callable[[str], None]) -> Book:
    started = time.perf_counter()
    loaded = Book.from_compiled(compiled)
    log(f"compiled form reused from the node cache ({time.perf_counter() - started:.2f} s)")
    return loaded


def calculate(book: Book, plan: SweepPlan, index: int) -> dict[str, Value]:
    """The default execute step (HPC_Execute): set the case's inputs, read the outputs."""
    return book.calculate(plan.cases[index], plan.outputs)


def node_name() -> str:
    parts = os.environ.get("CCP_NODES", "").split()  # "1 NODE 1", as HPC Pack sets it
    return parts[1] if len(parts) > 1 else os.uname().nodename


def load_hook(reference: str) -> Execute:
    """``module:function`` (importable on the node, e.g. from an application package)."""
    module, _, name = reference.partition(":")
    fn: Any = getattr(importlib.import_module(module), name or "execute")
    return fn  # type: ignore[no-any-return]


def run(
    index: int, workdir: Path, execute: Execute = calculate, log: Callable[[str], None] = print
) -> CaseResult:
    plan = SweepPlan.read(workdir / PLAN_FILE)
    if not 0 <= index < len(plan.cases):
        raise SystemExit(f"index {index} is outside this sweep's {len(plan.cases)} cases")
    book = compiled_book(workdir / BOOK_FILE, plan, workdir / CACHE_DIR, log)
    started = time.perf_counter()
    outputs = execute(book, plan, index)
    result = CaseResult(index, outputs, node_name(), round(time.perf_counter() - started, 6))
    target = workdir / result_name(index)
    target.with_suffix(".tmp").write_text(result.to_json(), encoding="utf-8")
    os.replace(target.with_suffix(".tmp"), target)
    errors = [
        f"{cell}={value}"
        for cell, value in outputs.items()
        if isinstance(value, str) and value.startswith("#")
    ]
    log(
        f"case {index}: {len(outputs)} outputs in {result.seconds:.3f} s"
        + (f"; cell errors {', '.join(errors)}" if errors else "")
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hpcburst.excel.runner", description=__doc__.splitlines()[0]
    )
    parser.add_argument("index", type=int)
    parser.add_argument("--execute", help="MODULE:FUNCTION(book, plan, index) -> {cell: value} (HPC_Execute)")
    args = parser.parse_args(argv)
    execute = load_hook(args.execute) if args.execute else calculate
    run(args.index, Path.cwd(), execute)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
