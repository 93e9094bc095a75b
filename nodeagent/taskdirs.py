"""The agent's work root and each task's directory in it.

Layout (``AgentConfig.workdir``)::

    .cache/                             the input cache: 0700, the agent's; never inside a task's directory
    packages/                           application packages (CCP_PACKAGE_ROOT): 0755, tasks only read them
    tasks/<job>/<task>.<index>.<attempt>/   a fresh directory per index: 0700, owned by the task's account
    tasks/<job>/shared/                 instead, for a job submitted with ``shared_workdir``

The root, ``tasks/`` and ``tasks/<job>/`` are 0711: a task may pass through but not list them. A task runs
(cwd, CCP_WORKDIR) in its directory, or in ``<its directory>/<workdir>`` for a relative workdir, or in the
absolute workdir the service allowed for the pool. HOME is its directory.

Clean-up: an index's directory is removed once its result is reported (``--keep-task-dirs`` keeps them for
debugging). ``tasks/<job>`` (with a shared directory, and anything a canceled index left) is removed by
``sweep`` once no index of the job has been on this node for ``ttl`` seconds (10 minutes by default).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hpcburst.domain.protocol import Lease
from hpcburst.errors import ConfigError, Forbidden, NotFound
from nodeagent import beneath
from nodeagent.runas import Account

log = logging.getLogger("nodeagent")

DEFAULT_TTL = 600.0  # seconds a job's directory outlives its last index on this node
SWEEP_INTERVAL = 30.0
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")
RunKey = tuple[str, int]


@dataclass(frozen=True)
class TaskDir:
    job: str
    root: str  # the task's directory: what its paths must stay in
    cwd: str  # where it runs (CCP_WORKDIR)
    account: Account | None  # who it runs as (None: the agent's own account)
    fresh: bool  # an index's own directory, removed once its result is reported

    @property
    def owner(self) -> tuple[int, int] | None:
        return None if self.account is None else self.account.owner


class TaskDirs:
    def __init__(
        self,
        work_root: Path,
        package_root: Path,
        accounts: Iterable[Account] = (),
        keep: bool = False,
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.root = work_root
        self.keep, self.ttl = keep, ttl
        self.tasks = work_root / "tasks"
        self.cache_root = work_root / ".cache"
        self._dirs: dict[RunKey, TaskDir] = {}
        self._job_dirs: set[str] = set()  # tasks/<job> made by this agent (one mkdir per job, not per index)
        self._making: set[str] = set()  # jobs whose index directory is being made (sweep leaves them be)
        self._last_used: dict[str, float] = {}
        self._last_sweep = 0.0
        self._lock = threading.Lock()
        modes = ((work_root, 0o711), (self.tasks, 0o711), (self.cache_root, 0o700), (package_root, 0o755))
        for path, mode in modes:
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(mode)  # also tightens a root made by an older agent, whose tasks ran in it
        for account in accounts:
            _check_reachable(work_root, account)

    def prepare(self, lease: Lease, account: Account | None) -> TaskDir:
        """The directory of a leased index, made on first use (staging or start) and then remembered."""
        key = (lease.task, lease.attempt)
        with self._lock:
            known = self._dirs.get(key)
            if known is not None:
                return known
            self._making.add(lease.job)
        try:  # outside the lock: reports releasing other directories need not wait on this one's mkdir
            made = self._make(lease, account)
        finally:
            with self._lock:
                self._making.discard(lease.job)
        with self._lock:
            self._last_used[lease.job] = time.monotonic()
            return self._dirs.setdefault(key, made)

    def get(self, key: RunKey) -> TaskDir | None:
        with self._lock:
            return self._dirs.get(key)

    def release(self, key: RunKey) -> None:
        """The index's result is reported (or it was canceled): remove its own directory."""
        with self._lock:
            done = self._dirs.pop(key, None)
            if done is not None:
                self._last_used[done.job] = time.monotonic()
        if done is not None and done.fresh and not self.keep:
            _remove(done.root)

    def sweep(self, in_use: Iterable[str], now: float | None = None) -> list[str]:
        """Remove ``tasks/<job>`` of every job with no index on this node for ``ttl`` seconds (at most once
        per SWEEP_INTERVAL); ``in_use``: the jobs the agent holds an index of. Returns the jobs removed."""
        now = time.monotonic() if now is None else now
        if self.keep or now - self._last_sweep < SWEEP_INTERVAL:
            return []
        self._last_sweep = now
        removed = []
        with self._lock:  # prepare() waits: no directory is made for a job while its tree goes
            held = set(in_use) | {d.job for d in self._dirs.values()} | self._making
            for job in held:
                self._last_used[job] = now
            for entry in os.scandir(self.tasks):
                last = self._last_used.setdefault(entry.name, now)  # an earlier run's: counted from now
                if entry.name not in held and now - last >= self.ttl:
                    self._job_dirs.discard(entry.name)
                    _remove(entry.path)
                    self._last_used.pop(entry.name, None)
                    removed.append(entry.name)
        return removed

    def _make(self, lease: Lease, account: Account | None) -> TaskDir:
        owner = None if account is None else account.owner
        if lease.workdir and os.path.isabs(lease.workdir):  # the service allowed it for the pool
            cwd = os.path.realpath(lease.workdir)
            if not os.path.isdir(cwd):
                raise NotFound(f"working directory {lease.workdir} does not exist on this node")
            return TaskDir(lease.job, cwd, cwd, account, fresh=False)
        if not _SAFE_NAME.match(lease.job):
            raise Forbidden(f"job id {lease.job!r} cannot name a directory; refused")
        job_dir = self.tasks / lease.job
        if lease.job not in self._job_dirs:
            job_dir.mkdir(mode=0o711, exist_ok=True)
            self._job_dirs.add(lease.job)
        fresh = not lease.shared_workdir
        root = job_dir / (f"{lease.task_id}.{lease.index}.{lease.attempt}" if fresh else "shared")
        if fresh and root.exists():
            _remove(str(root))  # an earlier run of this agent left it: an index always starts empty
        try:
            root.mkdir(mode=0o700)
            if owner is not None:
                os.chown(root, *owner)
        except FileExistsError:
            pass  # the job's shared directory, made by an earlier index
        cwd = str(root)
        if lease.workdir:
            os.close(beneath.open_dir(cwd, lease.workdir, "workdir", create=True, owner=owner))
            cwd = os.path.join(cwd, beneath.resolve(cwd, lease.workdir, "workdir"))
        return TaskDir(lease.job, str(root), os.path.normpath(cwd), account, fresh)


def _remove(path: str) -> None:
    try:
        os.rmdir(path)  # most indices leave nothing behind: one syscall
        return
    except OSError:
        pass
    shutil.rmtree(path, ignore_errors=True)  # fd-based: never follows a link a task left out of the tree
    if os.path.lexists(path):
        log.warning("could not remove task directory %s", path)


def _check_reachable(work_root: Path, account: Account) -> None:
    """Tasks run as ``account`` must be able to pass through every directory above their own."""
    for path in [work_root, *work_root.parents]:
        st = path.stat()
        if st.st_uid == account.uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == account.gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise ConfigError(
                f"tasks run as {account.name}, who cannot pass through {path} (mode "
                f"{stat.S_IMODE(st.st_mode):o}) to reach the work root {work_root}: choose a --workdir "
                f"others may reach (e.g. /var/lib/hpcburst-agent/work) or chmod o+x {path}"
            )
