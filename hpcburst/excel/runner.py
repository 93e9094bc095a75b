"""The task of a case sweep index, on a node: ``python -m hpcburst.excel.runner INDEX``.

It runs in the job's shared directory on the node, where the book and the plan are placed. An index is a thin
client of the node's calculation server (``node_server``): it sends its index over the server's Unix socket
and the server, which holds the book compiled and warm, writes ``case-NNNNNN.json``. The first index on a node
starts the server (holding a lock, so the node's other slots wait for it rather than start their own) and
relays its log, so the job's log shows ``parsed ... on NODE`` once per node. This module imports nothing heavy
at the top: an index that is served never imports the engine.

If the server cannot start, or dies while answering, the index calculates in-process (``run``), as every
index did before the server existed; so does every index with ``HPCBURST_EXCEL_NODE_SERVER=0``. The book is
then still compiled once per node: the first to need it parses it and saves the compiled form under
``.hpcburst-excel/`` (keyed by the book's sha256 and the cells the sweep sets and reads), under a file lock;
every later one loads it (``compiled form reused``). A formula error is a value in the result (``#DIV/0!``),
not a failure of the index.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpcburst.excel.engine import Book, Value
    from hpcburst.excel.plan import CaseResult, SweepPlan

    Execute = Callable[[Book, SweepPlan, int], dict[str, Value]]

CACHE_DIR = ".hpcburst-excel"  # per job and node, 0700: the compiled book, the server's socket, lock and log
SOCKET = f"{CACHE_DIR}/calc.sock"
SERVER_LOG = f"{CACHE_DIR}/server.log"
_ANSWER_BYTES = 65536


def compiled_book(
    book: Path,
    plan: SweepPlan,
    cache: Path,
    log: Callable[[str], None] = print,
    save_in_background: bool = False,
) -> Book:
    """The book compiled for ``plan``: from the node cache, else parsed once and saved there.

    ``save_in_background``: saving takes as long as parsing (~5 s for 10,000 formulas) and only an index
    that has to calculate in-process, or a later server, needs it: a forked child saves it while the caller
    gets on. The child inherits the cache lock, so whoever needs the saved form waits for it whole."""
    import hashlib
    import time

    from hpcburst.excel.engine import Book

    key = hashlib.sha256("\n".join([plan.book_sha256, *plan.inputs, "", *plan.outputs]).encode()).hexdigest()
    _private_dir(cache)
    compiled = cache / f"{key[:32]}.pkl"
    # the common case, without the lock: the file appears whole (os.replace) or not at all
    if compiled.exists():
        return _reused(compiled, log)
    with (cache / f"{key[:32]}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the node's other slots wait here while the first one parses
        if compiled.exists():
            return _reused(compiled, log)
        started = time.perf_counter()
        parsed = Book.load(book)
        parsed.prepare([*plan.outputs, *plan.inputs])
        seconds = time.perf_counter() - started
        if not save_in_background:
            _save(parsed, cache / key[:32], compiled)
        elif os.fork() == 0:  # the child: it holds the lock (an inherited descriptor) until the file is whole
            try:
                _save(parsed, cache / key[:32], compiled)
            finally:
                os._exit(0)
        log(f"parsed {book.name} (sha256 {plan.book_sha256[:12]}) on {node_name()} in {seconds:.2f} s")
        return parsed


def _save(book: Book, stem: Path, compiled: Path) -> None:
    book.save_compiled(f"{stem}.tmp")
    os.replace(f"{stem}.tmp.pkl", compiled)  # whole or absent: a crash leaves no partial file


def _reused(compiled: Path, log: Callable[[str], None]) -> Book:
    import time

    from hpcburst.excel.engine import Book

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
    import importlib

    module, _, name = reference.partition(":")
    fn: Any = getattr(importlib.import_module(module), name or "execute")
    return fn  # type: ignore[no-any-return]


def check_index(plan: SweepPlan, index: int) -> None:
    if not 0 <= index < len(plan.cases):
        raise SystemExit(f"index {index} is outside this sweep's {len(plan.cases)} cases")


def write_case(book: Book, plan: SweepPlan, index: int, workdir: Path, execute: Execute = calculate) -> str:
    """Calculate case ``index`` and write its ``case-NNNNNN.json``; the index's log line."""
    import time

    from hpcburst.excel.plan import CaseResult, result_name

    check_index(plan, index)
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
    return f"case {index}: {len(outputs)} outputs in {result.seconds:.3f} s" + (
        f"; cell errors {', '.join(errors)}" if errors else ""
    )


def run(
    index: int, workdir: Path, execute: Execute = calculate, log: Callable[[str], None] = print
) -> CaseResult:
    """Calculate one index in this process (the fallback when the node's server is not there)."""
    from hpcburst.excel.plan import BOOK_FILE, PLAN_FILE, CaseResult, SweepPlan, result_name

    plan = SweepPlan.read(workdir / PLAN_FILE)
    check_index(plan, index)
    book = compiled_book(workdir / BOOK_FILE, plan, workdir / CACHE_DIR, log)
    log(write_case(book, plan, index, workdir, execute))
    return CaseResult.from_json((workdir / result_name(index)).read_text(encoding="utf-8"))


def served(index: int, workdir: Path, execute: str | None = None, log: Callable[[str], None] = print) -> bool:
    """Have the node's server calculate ``index`` (starting the server if there is none). False: calculate it
    in-process instead (the server could not start, or died answering). SystemExit: the index is refused."""
    answer = _ask(workdir, index)
    if answer is None:
        _private_dir(workdir / CACHE_DIR)
        with (workdir / CACHE_DIR / "server.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one index starts the server; the others wait, then use it
            answer = _ask(workdir, index)
            if answer is None and not _start_server(workdir, execute, log):
                return False
        if answer is None:
            answer = _ask(workdir, index)
    status, _, text = (answer or "").partition(" ")
    if status == "error":
        raise SystemExit(text)
    if status == "ok":
        log(text)
        return True
    return False


def _ask(workdir: Path, index: int) -> str | None:
    """The server's answer line; None: no server listening; "": it died before answering."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(os.path.relpath(workdir / SOCKET))  # relative: a deep directory fits sun_path
        except OSError:
            return None
        try:
            conn.sendall(f"{index}\n".encode())
            answer = conn.makefile("rb").readline(_ANSWER_BYTES)
        except OSError:
            return ""
    return answer.decode("utf-8", "replace").rstrip("\n") if answer.endswith(b"\n") else ""


def _start_server(workdir: Path, execute: str | None, log: Callable[[str], None]) -> bool:
    """Start the node's server in its own session (the agent ends the index's process group when the index
    exits), relay its start-up log, and wait for ``ready``. False: it failed to start (why: the server log)."""
    import subprocess

    argv = [sys.executable, "-m", "hpcburst.excel.node_server", *(["--execute", execute] if execute else [])]
    with (workdir / SERVER_LOG).open("ab") as errors:
        server = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
            start_new_session=True, text=True,
        )  # fmt: skip
    assert server.stdout is not None
    with server.stdout:
        for line in server.stdout:
            if line.rstrip("\n") == "ready":
                return True
            log(line.rstrip("\n"))
    server.wait()
    tail = (workdir / SERVER_LOG).read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
    print(f"node calculation server did not start ({': '.join(tail) or 'no reason given'}); calculating here",
          file=sys.stderr)  # fmt: skip
    return False


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m hpcburst.excel.runner", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("index", type=int)
    parser.add_argument("--execute", help="MODULE:FUNCTION(book, plan, index) -> {cell: value} (HPC_Execute)")
    args = parser.parse_args(argv)
    workdir = Path.cwd()
    use_server = os.environ.get("HPCBURST_EXCEL_NODE_SERVER", "1") != "0"
    if not (use_server and served(args.index, workdir, args.execute)):
        run(args.index, workdir, load_hook(args.execute) if args.execute else calculate)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
