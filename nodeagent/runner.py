"""Runs task processes: one process group (a new session) per index, output captured, run time enforced.

One thread drives the runner (``start``/``poll``/``kill``); there is no thread per process. Exits are seen
through pidfds and output through pipes, all in one epoll selector, so thousands of tiny tasks a second cost
only their spawn. ``wakeup`` is the one call other threads may make: it interrupts a blocking ``poll``.

A finished leader is killed-group-then-reaped: its pid stays reserved while it is a zombie, so the
``killpg`` that clears stragglers can never hit a recycled pid.
"""

from __future__ import annotations

import errno
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from hpcburst.errors import PathRefused
from nodeagent.beneath import create_file
from nodeagent.command import SHELL, ExecutableResolver, argv_for
from nodeagent.launcher import launch_argv

MAX_CAPTURE = 8 * 1024 * 1024  # bytes kept per stream; the rest is dropped (use --stdout FILE for more)
KILL_GRACE = 1.0  # seconds between SIGTERM and SIGKILL of a group being stopped
STRAGGLER_GRACE = 1.0  # seconds to wait for pipe EOF after the leader exited and its group was killed
_READ = 65536


@dataclass(frozen=True)
class RunSpec:
    """One process to run. ``env`` is the child's whole environment; ``cwd`` None means the runner's cwd."""

    key: Hashable
    command: str
    env: Mapping[str, str]
    cwd: str | None = None
    timeout: float | None = None  # max run time, seconds
    stdout_path: str | None = None  # write stdout to this file (inside cwd) instead of a pipe
    stderr_path: str | None = None
    argv_prefix: tuple[str, ...] = ()  # run the command through this (setpriv: as another account)
    owner: tuple[int, int] | None = None  # (uid, gid) that gets the stdout/stderr files
    # (uid, gid, groups) to run as: with the launcher instead of ``argv_prefix`` (nodeagent.launcher)
    account: tuple[int, int, tuple[int, ...]] | None = None


@dataclass
class RunResult:
    key: Hashable
    exit_code: int  # negative: killed by that signal (as subprocess reports it)
    started_at: float  # epoch seconds
    ended_at: float
    stdout: bytes = b""
    stderr: bytes = b""
    timed_out: bool = False
    canceled: bool = False
    error: str | None = None  # the process could not be started

    @property
    def duration(self) -> float:
        return self.ended_at - self.started_at


@dataclass
class _Run:
    spec: RunSpec
    pid: int
    pidfd: int
    started_at: float
    started_mono: float
    deadline: float | None  # monotonic; max run time
    pipes: dict[int, int] = field(default_factory=dict)  # fd -> 1 (stdout) | 2 (stderr)
    out: dict[int, bytearray] = field(default_factory=lambda: {1: bytearray(), 2: bytearray()})
    status: int | None = None  # wait status once reaped
    ended_at: float = 0.0
    kill_at: float | None = None  # monotonic: SIGKILL the group then
    eof_deadline: float | None = None
    timed_out: bool = False
    canceled: bool = False


class ProcessRunner:
    def __init__(self, kill_grace: float = KILL_GRACE, launcher: str | None = None) -> None:
        """``launcher``: the built task launcher (``nodeagent.launcher``); without it a task in its own
        directory starts through a fork, and one as another account through ``argv_prefix`` (setpriv)."""
        self.launcher = launcher
        self._sel = selectors.DefaultSelector()
        self._runs: dict[Hashable, _Run] = {}
        self._done: list[RunResult] = []
        self._resolver = ExecutableResolver()
        self._cwd = os.getcwd()
        self._kill_grace = kill_grace
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._sel.register(self._wake_fd, selectors.EVENT_READ, None)

    # --- the driving thread's calls ---
    @property
    def running(self) -> int:
        return len(self._runs)

    def keys(self) -> list[Hashable]:
        return list(self._runs)

    def start(self, spec: RunSpec) -> None:
        """Start ``spec`` now; a process that cannot start is reported by the next ``poll`` (exit 127/126)."""
        if spec.key in self._runs:
            raise ValueError(f"run {spec.key!r} is already running")
        argv = argv_for(spec.command)
        exe = self._resolver.resolve(argv[0], spec.env.get("PATH"))
        now = time.time()
        if exe is None:  # a shell builtin (exit, cd, export...) or a typo: the shell runs or explains it
            argv = [SHELL, "-c", spec.command]
            exe = SHELL
        program = argv[0]
        cwd = spec.cwd if spec.cwd and os.path.abspath(spec.cwd) != self._cwd else None
        launch = self.launcher is not None and (cwd is not None or spec.account is not None)
        if launch:  # one posix_spawn: the launcher drops to the account, enters cwd, execs the command
            argv = launch_argv(self.launcher, cwd or self._cwd, exe, argv, spec.account)  # type: ignore[arg-type]
            exe = argv[0]
        elif spec.argv_prefix:  # the prefix execs the command by its name, searching the task's PATH
            argv = [*spec.argv_prefix, exe if "/" in program else program, *argv[1:]]
            exe = spec.argv_prefix[0]
        try:
            pid, pipes = self._spawn(exe, argv, spec, cwd, launch)
        except OSError as e:
            self._resolver.forget(program, spec.env.get("PATH"))
            code = 127 if e.errno == errno.ENOENT else 126
            self._fail(spec, code, f"{program}: {e.strerror or e}", now)
            return
        except PathRefused as e:  # a stdout/stderr path that leads out of the task's directory
            self._fail(spec, 126, e.message, now)
            return
        pidfd = os.pidfd_open(pid)
        mono = time.monotonic()
        run = _Run(spec, pid, pidfd, now, mono, mono + spec.timeout if spec.timeout else None)
        self._runs[spec.key] = run
        self._sel.register(pidfd, selectors.EVENT_READ, run)
        for fd, stream in pipes.items():
            run.pipes[fd] = stream
            self._sel.register(fd, selectors.EVENT_READ, run)

    def kill(self, key: Hashable) -> bool:
        """Stop a run's whole process group (SIGTERM, SIGKILL after the grace); False if it is not running."""
        run = self._runs.get(key)
        if run is None or run.status is not None:
            return False
        run.canceled = True
        self._terminate(run)
        return True

    def poll(self, timeout: float | None = 0.0) -> list[RunResult]:
        """Wait up to ``timeout`` seconds (None: until something happens) and return finished runs."""
        if not self._done:
            wait = self._next_wait(timeout)
            for sel_key, _ in self._sel.select(wait):
                self._on_ready(sel_key.fd, sel_key.data)
            self._enforce_deadlines()
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        """Kill everything still running and release the selector (results of those runs are dropped)."""
        for run in list(self._runs.values()):
            self._signal(run, signal.SIGKILL)
            if run.status is None:
                os.waitpid(run.pid, 0)
            self._release(run)
        self._runs.clear()
        self._sel.close()
        os.close(self._wake_fd)

    # --- any thread ---
    def wakeup(self) -> None:
        try:
            os.eventfd_write(self._wake_fd, 1)
        except (BlockingIOError, OSError):
            pass

    # --- internals ---
    def _spawn(
        self, exe: str, argv: list[str], spec: RunSpec, cwd: str | None, launched: bool = False
    ) -> tuple[int, dict[int, int]]:
        base = cwd or self._cwd
        targets = {1: spec.stdout_path, 2: spec.stderr_path}
        child_fds: dict[int, int] = {}
        parent_fds: dict[int, int] = {}
        try:
            for stream, path in targets.items():
                if path and stream == 2 and path == spec.stdout_path:
                    child_fds[2] = os.dup(child_fds[1])  # one file for both: one offset, no clobbering
                elif path:
                    what = "stdout" if stream == 1 else "stderr"
                    child_fds[stream] = create_file(base, path, what, spec.owner)
                else:
                    r, w = os.pipe2(os.O_CLOEXEC)
                    parent_fds[r], child_fds[stream] = stream, w
            if cwd is None or launched:
                actions: list[tuple[object, ...]] = [
                    (os.POSIX_SPAWN_DUP2, fd, s) for s, fd in child_fds.items()
                ]
                actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
                pid = os.posix_spawn(exe, argv, spec.env, file_actions=actions, setsid=True)
            else:
                pid = _spawn_in(cwd, exe, argv, spec.env, child_fds)
        except BaseException:
            for fd in parent_fds:
                os.close(fd)
            raise
        finally:
            for fd in child_fds.values():
                os.close(fd)
        return pid, parent_fds

    def _fail(self, spec: RunSpec, code: int, message: str, now: float) -> None:
        self._done.append(RunResult(spec.key, code, now, now, stderr=message.encode() + b"\n", error=message))

    def _next_wait(self, timeout: float | None) -> float | None:
        now = time.monotonic()
        moments = [t for r in self._runs.values() for t in (r.deadline, r.kill_at, r.eof_deadline) if t]
        if not moments:
            return timeout
        soonest = max(0.0, min(moments) - now)
        return soonest if timeout is None else min(timeout, soonest)

    def _on_ready(self, fd: int, run: _Run | None) -> None:
        if run is None:
            try:
                os.eventfd_read(self._wake_fd)
            except BlockingIOError:
                pass
            return
        if fd == run.pidfd:
            self._on_exit(run)
            return
        if fd not in run.pipes:
            return
        data = os.read(fd, _READ)
        if data:
            buf = run.out[run.pipes[fd]]
            if len(buf) < MAX_CAPTURE:
                buf += data[: MAX_CAPTURE - len(buf)]
            return
        self._sel.unregister(fd)
        os.close(fd)
        del run.pipes[fd]
        self._maybe_finish(run)

    def _on_exit(self, run: _Run) -> None:
        run.ended_at = time.time()
        self._signal(
            run, signal.SIGKILL
        )  # stragglers of a finished task (the zombie leader keeps the pid ours)
        _, run.status = os.waitpid(run.pid, 0)
        self._sel.unregister(run.pidfd)
        os.close(run.pidfd)
        run.pidfd = -1
        run.kill_at = None
        run.eof_deadline = time.monotonic() + STRAGGLER_GRACE
        self._maybe_finish(run)

    def _maybe_finish(self, run: _Run) -> None:
        if run.status is None or run.pipes:
            return
        self._release(run)
        del self._runs[run.spec.key]
        code = os.waitstatus_to_exitcode(run.status)
        self._done.append(
            RunResult(
                run.spec.key,
                code,
                run.started_at,
                run.ended_at,
                bytes(run.out[1]),
                bytes(run.out[2]),
                timed_out=run.timed_out,
                canceled=run.canceled,
            )
        )

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for run in list(self._runs.values()):
            if run.status is None:
                if (
                    run.deadline is not None
                    and now >= run.deadline
                    and not run.timed_out
                    and not run.canceled
                ):
                    run.timed_out = True
                    run.deadline = None
                    self._terminate(run)
                elif run.kill_at is not None and now >= run.kill_at:
                    self._signal(run, signal.SIGKILL)
                    run.kill_at = None
            elif run.eof_deadline is not None and now >= run.eof_deadline:
                for fd in list(run.pipes):  # a daemonized grandchild still holds the pipe: stop waiting
                    self._sel.unregister(fd)
                    os.close(fd)
                run.pipes.clear()
                self._maybe_finish(run)

    def _terminate(self, run: _Run) -> None:
        self._signal(run, signal.SIGTERM)
        self._signal(run, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        run.kill_at = time.monotonic() + self._kill_grace

    def _signal(self, run: _Run, sig: int) -> None:
        try:
            os.killpg(run.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _release(self, run: _Run) -> None:
        for fd in list(run.pipes):
            self._sel.unregister(fd)
            os.close(fd)
        run.pipes.clear()
        if run.pidfd >= 0:
            self._sel.unregister(run.pidfd)
            os.close(run.pidfd)
            run.pidfd = -1


def _spawn_in(cwd: str, exe: str, argv: list[str], env: Mapping[str, str], fds: dict[int, int]) -> int:
    """Spawn with a working directory (posix_spawn cannot chdir before Python 3.13's addchdir)."""
    proc = subprocess.Popen(  # noqa: S603 - argv comes from the task the user submitted
        argv,
        executable=exe,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=fds.get(1),
        stderr=fds.get(2),
        start_new_session=True,
        close_fds=True,
    )
    proc.returncode = 0  # reaped by the runner through its pidfd; stop Popen from tracking it
    return proc.pid
