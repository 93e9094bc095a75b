"""The process runner: each index in its own session, output captured, max run time and cancel kill the tree."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from nodeagent.runner import ProcessRunner, RunResult, RunSpec

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CCP_TASKINSTANCEID": "7"}


@pytest.fixture
def runner() -> Iterator[ProcessRunner]:
    r = ProcessRunner(kill_grace=0.5)
    yield r
    r.close()


def finish(runner: ProcessRunner, limit: float = 30.0) -> dict[object, RunResult]:
    """Poll until nothing is running (the limit only guards against a hang)."""
    results: dict[object, RunResult] = {}
    polls = 0
    while runner.running or not results:
        for r in runner.poll(0.5):
            results[r.key] = r
        polls += 1
        assert polls < limit * 2, "runner hung"
    return results


def alive(pids: list[int]) -> list[int]:
    """The pids still running after their SIGKILL had up to 5 s to land."""
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    _, still = psutil.wait_procs(procs, timeout=5)
    return [p.pid for p in still if p.status() != psutil.STATUS_ZOMBIE]


def test_a_plain_command_is_executed_directly_with_its_output_and_exit_code(runner: ProcessRunner) -> None:
    runner.start(RunSpec("a", "echo hello world", ENV))
    runner.start(RunSpec("b", "false", ENV))
    results = finish(runner)
    assert results["a"].exit_code == 0 and results["a"].stdout == b"hello world\n"
    assert results["b"].exit_code == 1
    assert results["a"].started_at <= results["a"].ended_at


def test_shell_syntax_runs_under_sh_with_the_task_environment(runner: ProcessRunner) -> None:
    runner.start(RunSpec("x", 'echo "index=$CCP_TASKINSTANCEID" | tr a-z A-Z; echo oops >&2; exit 3', ENV))
    (result,) = finish(runner).values()
    assert result.stdout == b"INDEX=7\n"
    assert result.stderr == b"oops\n"
    assert result.exit_code == 3


def test_a_missing_program_fails_with_127_and_says_why(runner: ProcessRunner) -> None:
    runner.start(RunSpec("m", "no-such-program-hpcburst --flag", ENV))
    (result,) = finish(runner).values()
    assert result.exit_code == 127
    assert b"no-such-program-hpcburst" in result.stderr


def test_a_shell_builtin_without_shell_syntax_still_runs(runner: ProcessRunner, tmp_path: Path) -> None:
    runner.start(RunSpec("e", "exit 5", ENV))
    (result,) = finish(runner).values()
    assert result.exit_code == 5


def test_the_working_directory_and_stdout_file_are_honoured(runner: ProcessRunner, tmp_path: Path) -> None:
    runner.start(RunSpec("w", "pwd", ENV, cwd=str(tmp_path), stdout_path="out/index.txt"))
    (result,) = finish(runner).values()
    assert result.exit_code == 0 and result.stdout == b""
    assert (tmp_path / "out" / "index.txt").read_text().strip() == str(tmp_path)


def test_max_run_time_kills_the_whole_process_group(runner: ProcessRunner, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    runner.start(RunSpec("t", f"sleep 60 & echo $! > {pidfile}; sleep 60", ENV, timeout=0.5))
    (result,) = finish(runner).values()
    assert result.timed_out and not result.canceled
    assert result.exit_code < 0  # killed by a signal
    assert alive([int(pidfile.read_text())]) == []


def test_kill_stops_the_process_tree_and_marks_the_run_canceled(
    runner: ProcessRunner, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    runner.start(RunSpec("c", f"sh -c 'sleep 60' & echo $! > {pidfile}; trap '' TERM; sleep 60", ENV))
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert runner.poll(0.05) == []
    assert runner.kill("c")
    (result,) = finish(runner).values()
    assert result.canceled and result.exit_code < 0
    assert alive([int(pidfile.read_text())]) == []
    assert not runner.kill("c")  # already gone


def test_a_background_straggler_does_not_hold_the_task_open(runner: ProcessRunner, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    runner.start(RunSpec("s", f"sleep 60 & echo $! > {pidfile}; echo done", ENV))
    (result,) = finish(runner).values()
    assert result.exit_code == 0 and result.stdout == b"done\n"
    assert alive([int(pidfile.read_text())]) == []


def test_many_short_runs_all_complete_with_their_own_output(runner: ProcessRunner) -> None:
    pending = list(range(300))
    results: dict[object, RunResult] = {}
    while pending or runner.running:
        while pending and runner.running < 4:
            i = pending.pop()
            runner.start(RunSpec(i, f"echo {i}", ENV))
        for r in runner.poll(1.0):
            results[r.key] = r
    assert sorted(results) == list(range(300))
    assert all(r.stdout == f"{i}\n".encode() and r.exit_code == 0 for i, r in results.items())


def test_wakeup_interrupts_a_blocking_poll(runner: ProcessRunner) -> None:
    runner.wakeup()
    assert runner.poll(None) == []
