"""The task launcher: one posix_spawn starts a task as its account, in its directory, with no privileges."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nodeagent.launcher import build_launcher
from nodeagent.runner import ProcessRunner, RunSpec

NOBODY = (65534, 65534, ())


@pytest.fixture
def launcher(task_root: Path) -> str:
    built = build_launcher(task_root / ".bin")
    assert built is not None, "this machine has a C compiler (build-essential): the launcher must build"
    return built


def _run(launcher: str, spec: RunSpec):
    runner = ProcessRunner(launcher=launcher)
    try:
        runner.start(spec)
        results = []
        while not results:
            results = runner.poll(5)
        return results[0]
    finally:
        runner.close()


def test_a_task_runs_as_its_account_in_its_directory_with_no_capabilities_and_no_new_privileges(
    launcher: str, task_root: Path
) -> None:
    assert os.geteuid() == 0, "CI runs as root: the privilege drop must be exercised"
    workdir = task_root / "t1"
    workdir.mkdir(mode=0o700)
    os.chown(workdir, 65534, 65534)
    probe = "id -u; id -g; pwd; grep -E '^(CapPrm|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status"
    result = _run(
        launcher, RunSpec("k", probe, {"PATH": os.environ["PATH"]}, cwd=str(workdir), account=NOBODY)
    )
    lines = result.stdout.decode().split("\n")
    assert result.exit_code == 0, result.stderr
    assert lines[:3] == ["65534", "65534", str(workdir)]
    assert sorted(lines[3:7]) == [
        "CapAmb:\t0000000000000000", "CapBnd:\t0000000000000000",
        "CapPrm:\t0000000000000000", "NoNewPrivs:\t1",
    ]  # fmt: skip


def test_a_directory_the_account_may_not_enter_fails_the_task_not_the_agent(
    launcher: str, task_root: Path
) -> None:
    private = task_root / "root-only"
    private.mkdir(mode=0o700)
    result = _run(launcher, RunSpec("k", "true", {}, cwd=str(private), account=NOBODY))
    assert result.exit_code == 126 and b"cannot enter" in result.stderr


def test_the_launcher_is_built_once_per_source_version(launcher: str, task_root: Path) -> None:
    assert build_launcher(task_root / ".bin") == launcher
    assert os.stat(launcher).st_uid == os.geteuid() and os.stat(launcher).st_mode & 0o777 == 0o755
