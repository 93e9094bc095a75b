"""Agent processes of the local provisioner: start one in its own session, tell whether it is still the same
process, stop a group (SIGTERM, then SIGKILL after a grace), read the last line of its log."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from hpcburst.provisioners.local_registry import LocalNode

POLL = 0.05


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> int:
    """Start ``cmd`` in a new session (its pid is its process group) writing to ``log``; its pid."""
    with open(log, "ab") as out:
        child = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, cwd=log.parent)  # fmt: skip
    child.returncode = 0  # reaped through its pid (``alive``); Popen must not warn when it is dropped
    return child.pid


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])  # field 22 of stat; [0] here is field 3


def alive(node: LocalNode) -> bool:
    """The node's process still runs, and is the one started for it (not a later process given its pid)."""
    if node.pid is None or node.started is None:  # never started, or ended before its start was read
        return False
    try:
        os.waitpid(node.pid, os.WNOHANG)  # our own child: reap it if it ended
    except ChildProcessError:
        pass  # started by an earlier controller
    return start_ticks(node.pid) == node.started


def stop(nodes: Sequence[LocalNode], sig: int, grace: float) -> None:
    """Signal each node's process group with ``sig``; SIGKILL the groups still there after ``grace`` s."""
    for node in nodes:
        _signal_group(node, sig)
    deadline = time.monotonic() + grace
    while any(alive(n) for n in nodes) and time.monotonic() < deadline:
        time.sleep(POLL)
    stubborn = [n for n in nodes if alive(n)]
    for node in stubborn:
        _signal_group(node, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while any(alive(n) for n in stubborn) and time.monotonic() < deadline:
        time.sleep(POLL)


def agents_under(work_root: Path) -> dict[str, int]:
    """Agent processes started for nodes under ``work_root`` (node name -> pid, its process group), found by
    their command line: a controller killed between starting an agent and saving the registry left one that
    no registry lists, and it must be found (to be adopted or deleted), not left to run unseen."""
    prefix = f"{work_root}/"
    found: dict[str, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            args = Path(entry.path, "cmdline").read_bytes().decode(errors="replace").split("\0")
            pid = int(entry.name)
            leader = os.getpgid(pid) == pid
        except (OSError, ValueError):
            continue
        if not leader or "nodeagent" not in args or "--workdir" not in args:
            continue
        workdir = args[args.index("--workdir") + 1] if args.index("--workdir") + 1 < len(args) else ""
        name = workdir[len(prefix) :] if workdir.startswith(prefix) else ""
        if name and "/" not in name and start_ticks(pid) is not None:
            found[name] = pid
    return found


def last_line(log: Path) -> str:
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
            lines = [line.strip() for line in fh.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def _signal_group(node: LocalNode, sig: int) -> None:
    if node.pid is None:
        return
    try:
        os.killpg(node.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
