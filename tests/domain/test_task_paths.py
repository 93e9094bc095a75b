"""The submit-time path rules: every path of a task stays inside its directory on the node, except an
absolute workdir an administrator allowed for the pool."""

from __future__ import annotations

from typing import Any

import pytest

from hpcburst.domain.job import Job, JobSpec
from hpcburst.domain.leasing import lease_for
from hpcburst.domain.states import JobState, Priority
from hpcburst.domain.task_document import TaskDocument
from hpcburst.domain.task_paths import inside_root, validate_task_paths
from hpcburst.errors import InvalidSpec


def job(pool: str | None = None, **task: Any) -> JobSpec:
    return JobSpec.model_validate({"pool": pool, "tasks": [{"command": "true"}, {"command": "run", **task}]})


def refused(spec: JobSpec, roots: list[str] | None = None) -> InvalidSpec:
    with pytest.raises(InvalidSpec) as caught:
        validate_task_paths(spec, roots or [])
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize(
    "workdir", ["/etc", "..", "../..", "a/../../b", "..\\..", "C:\\Windows", "\\\\host\\share", "x\0y"]
)
def test_a_workdir_outside_the_tasks_directory_is_refused_naming_the_field(workdir: str) -> None:
    error = refused(job(workdir=workdir))
    assert error.details["field"] == "tasks.1.workdir"
    assert error.message.startswith("tasks.1.workdir:")


def test_an_absolute_workdir_needs_a_root_an_admin_allowed_for_the_pool() -> None:
    error = refused(job(pool="gpu", workdir="/etc"), ["/data"])
    assert "administrator must allow the path for the pool" in error.message and "'gpu'" in error.message
    validate_task_paths(job(workdir="/data"), ["/data"])
    validate_task_paths(job(workdir="/data/run-*", sweep={"start": 1, "end": 3}), ["/data/"])
    for sneaky in ("/data/../etc", "/database", "//data/../etc"):
        assert refused(job(workdir=sneaky), ["/data"]).details["field"] == "tasks.1.workdir"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
@pytest.mark.parametrize("path", ["../../x", "/tmp/x", "out/../../x", "..\\x"])
def test_stdout_and_stderr_must_be_relative_and_stay_inside(stream: str, path: str) -> None:
    error = refused(job(**{stream: path}), ["/"])  # even where any absolute workdir would be allowed
    assert error.details["field"] == f"tasks.1.{stream}"


def test_input_and_output_paths_are_checked_with_their_position_in_the_field_name() -> None:
    ok = {"blob": "hpc-data/x", "path": "x"}
    spec = job(input_files=[ok, ok])
    spec.tasks[1].input_files[1] = (
        spec.tasks[1].input_files[1].model_construct(blob="hpc-data/x", path="../x")
    )
    assert refused(spec).details["field"] == "tasks.1.input_files.1.path"
    spec = job(output_files=[{"pattern": "o", "blob": "hpc-output/o"}])
    spec.tasks[1].output_files[0] = spec.tasks[1].output_files[0].model_construct(pattern="/etc/*", blob="b")
    assert refused(spec).details["field"] == "tasks.1.output_files.0.pattern"


def test_sweep_stars_and_literal_stars_are_fine_in_paths() -> None:
    sweep = {"start": 1, "end": 9}
    validate_task_paths(job(sweep=sweep, workdir="run-***", stdout="out-*.txt", stderr="err-^*.txt"), [])
    validate_task_paths(job(workdir="literal-*"), [])  # a basic task's star is a plain character


def test_normalized_root_comparison() -> None:
    assert inside_root("/data/a/../b", "/data") and inside_root("/data", "/data/")
    assert not inside_root("/data/../etc", "/data") and not inside_root("/datax", "/data")
    assert inside_root("/anything", "/")


def test_a_lease_carries_the_jobs_owner_and_whether_its_indices_share_a_directory() -> None:
    spec = JobSpec.model_validate(
        {"shared_workdir": True, "tasks": [{"command": "echo *", "sweep": {"start": 1, "end": 2}}]}
    )
    stored = Job(id="7", name="j", owner="alice", priority=Priority.NORMAL, shared_workdir=spec.shared_workdir,
                 tasks=spec.tasks, state=JobState.RUNNING, submitted_at=0.0, total=2, batch_size=2, batches=1,
                 instance_id="i")  # fmt: skip
    doc = TaskDocument.stored(
        {"job": "7", "task": 1, "index": 2, "batch": 0, "state": "Running", "attempt": 1}
    )
    lease = lease_for(stored, doc, "7.1.2")
    assert lease.owner == "alice" and lease.shared_workdir and lease.command == "echo 2"
    assert not JobSpec.model_validate({"tasks": [{"command": "x"}]}).shared_workdir
