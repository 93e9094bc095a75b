"""The node's calculation server of a case sweep: ``python -m hpcburst.excel.node_server [--execute M:F]``.

Every index of a sweep is its own process. Loading the compiled book (~0.4 s) and pycel's first calculation,
which compiles each formula's Python (~1 s), cost more than a case (~0.2 s): paid per index they made a
sweep slower than a laptop. So the first index on a node starts this server in the job's shared directory,
as the task's own account; it compiles (or loads) the book once, calculates one case to warm it, and then
calculates every case the node's indices ask for, writing each index's ``case-NNNNNN.json`` as the index
itself would. The indices become thin clients (``runner``).

Protocol, on the Unix socket ``.hpcburst-excel/calc.sock`` (directory 0700, socket 0600, and the peer must be
this account: no network listener, no other account): the client sends ``INDEX\\n``; the server answers
``ok LOG\\n`` once the result file is written, or ``error REASON\\n``. Start-up: the server writes its log
lines to stdout (the starting index relays them, so the job's log shows the one parse), then ``ready``, then
detaches from that pipe. It calculates one case at a time (a node's slots share its cores anyway) and exits
when it has been idle for ``IDLE_SECONDS`` or its directory is gone (the job ended).
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import struct
import sys
from pathlib import Path

from hpcburst.excel.runner import (
    CACHE_DIR,
    SOCKET,
    calculate,
    compiled_book,
    load_hook,
    write_case,
)

IDLE_SECONDS = 20.0  # a sweep's indices arrive back to back; a gap this long means the node's share is done
_TICK = 1.0  # how often an idle server looks whether its directory still exists


def serve(workdir: Path, execute_ref: str | None = None) -> None:
    from hpcburst.excel.plan import BOOK_FILE, PLAN_FILE, SweepPlan

    plan = SweepPlan.read(workdir / PLAN_FILE)
    execute = load_hook(execute_ref) if execute_ref else calculate
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the child saving the compiled form is reaped unwaited
    book = compiled_book(workdir / BOOK_FILE, plan, workdir / CACHE_DIR, _say, save_in_background=True)
    calculate(book, plan, 0)  # warm: pycel compiles each formula's code on its first calculation
    gc.collect()
    gc.freeze()  # the book's ~10^5 long-lived objects leave the collector's scans: ~10% off every case
    listener = _listen(workdir / SOCKET)
    (workdir / CACHE_DIR / "server.pid").write_text(f"{os.getpid()}\n")
    _say("ready")
    _detach()
    identity = os.stat(workdir / SOCKET).st_ino
    idle = 0.0
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            idle += _TICK
            if idle >= IDLE_SECONDS or not _still_ours(workdir / SOCKET, identity):
                break
            continue
        idle = 0.0
        _answer(conn, book, plan, workdir, execute)
    _close(listener, workdir / SOCKET, identity, book, plan, workdir, execute)


def _answer(conn: socket.socket, book: object, plan: object, workdir: Path, execute: object) -> None:
    with conn:
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
        if uid != os.getuid():  # the 0600 socket already keeps others out; this is the second lock
            return
        conn.settimeout(30)
        try:
            line = conn.makefile("rb").readline(64)
            index = int(line)
        except (OSError, ValueError):
            return
        try:
            answer = "ok " + write_case(book, plan, index, workdir, execute)  # type: ignore[arg-type]
        except SystemExit as refused:  # an index outside the sweep: the index fails with the reason
            answer = f"error {refused}"
        except Exception as e:  # noqa: BLE001 - a hook that raised: that index fails, the server serves on
            answer = f"error {type(e).__name__}: {e}"
        try:
            conn.sendall(answer.replace("\n", " ").encode() + b"\n")
        except OSError:
            pass  # the index gave up (killed): its result file is written anyway


def _listen(path: Path) -> socket.socket:
    path.unlink(missing_ok=True)  # a server that died left it; the starting index holds the start lock
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        listener.bind(os.path.relpath(path))  # relative to the job directory: a deep one still fits sun_path
    finally:
        os.umask(previous)
    os.chmod(path, 0o600)
    listener.listen(64)
    listener.settimeout(_TICK)
    return listener


def _still_ours(path: Path, identity: int) -> bool:
    try:
        return os.stat(path).st_ino == identity
    except OSError:  # the job's directory was removed: the job has ended
        return False


def _close(listener: socket.socket, path: Path, identity: int, *serving: object) -> None:
    """Leave without dropping an index that connected as the idle timeout struck: unlink the socket first
    (new indices then start a server of their own), then answer whoever is already queued."""
    if _still_ours(path, identity):
        path.unlink(missing_ok=True)
    listener.setblocking(False)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            break
        conn.setblocking(True)
        _answer(conn, *serving)  # type: ignore[arg-type]
    listener.close()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _detach() -> None:
    """Stop holding the starting index's pipe (it exits on its own schedule; the agent waits for its EOF)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    sys.stdout.flush()
    os.dup2(devnull, 1)
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hpcburst.excel.node_server", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--execute", help="MODULE:FUNCTION(book, plan, index) -> {cell: value} (HPC_Execute)")
    args = parser.parse_args(argv)
    serve(Path.cwd(), args.execute)
    return 0


if __name__ == "__main__":
    sys.exit(main())
