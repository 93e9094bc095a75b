"""The task launcher: a 50-line C program (``launch.c``) that drops to the task's account, enters its
directory and execs the task, so every index starts with one ``posix_spawn`` of a small static binary.

Without it a task in its own directory needs a fork of the agent to ``chdir`` (posix_spawn cannot before
Python 3.13), and a task as another account an exec of ``setpriv``: about 1 ms more per index, a third of a
tiny task's cost. The agent builds it at start with the node's C compiler, once per source version (kept
under the work root, root-owned); with no compiler it says so and keeps the slower path.

What it does as root, in order: drop every capability from the bounding and ambient sets, set the
supplementary groups, gid and uid (all three ids), set no_new_privs (a setuid program cannot win anything
back), then ``chdir`` as the task's account, so it can only enter a directory that account may.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("nodeagent")

SOURCE = Path(__file__).with_name("launch.c")
KEEP = "-1"  # uid/gid meaning "stay the agent's account" (only enter the directory)


def build_launcher(directory: Path) -> str | None:
    """The launcher's path, built into ``directory`` if it is not there yet; None when it cannot be built."""
    source = SOURCE.read_bytes()
    target = directory / f"launch-{hashlib.sha256(source).hexdigest()[:16]}"
    if target.is_file() and os.access(target, os.X_OK):
        return str(target)
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        log.info("no C compiler: tasks start through setpriv and a fork (about 1 ms more per index)")
        return None
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    for flags in (["-static"], []):  # static execs fastest; a node without libc.a links dynamically
        built = subprocess.run(
            [compiler, "-O2", *flags, "-o", str(partial), str(SOURCE)], capture_output=True, text=True
        )
        if built.returncode == 0:
            partial.chmod(0o755)
            os.replace(partial, target)
            return str(target)
    partial.unlink(missing_ok=True)
    log.warning(
        "could not build the task launcher (%s): tasks start the slower way", built.stderr.strip()[:200]
    )
    return None


def launch_argv(
    launcher: str, cwd: str, exe: str, argv: Sequence[str], account: tuple[int, int, Sequence[int]] | None
) -> list[str]:
    """The argv that starts ``exe`` (as ``argv``) in ``cwd``, as ``account`` (uid, gid, groups) if given."""
    if account is None:
        ids = [KEEP, KEEP, "-"]
    else:
        uid, gid, groups = account
        ids = [str(uid), str(gid), ",".join(str(g) for g in groups) or "-"]
    return [launcher, cwd, *ids, "--", exe, *argv]
