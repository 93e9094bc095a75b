"""HPC Pack's job model end to end (issue 10): task types, dependencies, failure and runtime attributes.

The real runtime, Azurite and two agent processes (see conftest); tasks run as the confined task account and
leave their traces in a marker directory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from job_model_support import NODE, WAIT, files_appear, marks, submit_and_wait, tasks_of
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.client import Scheduler
from hpcburst.client.http import auth_headers
from hpcburst.client.local_cluster import LocalCluster


# --- task types ---
def test_basic_and_sweep_tasks_run_in_one_job_each_as_its_type(scheduler: Scheduler) -> None:
    spec = {"tasks": [
        {"type": "Basic", "command": "echo basic"},
        {"type": "ParametricSweep", "command": "echo sweep-*", "sweep": {"start": 1, "end": 3}},
        {"command": "echo legacy"},  # no type, no sweep: Basic, as before task types
    ]}  # fmt: skip
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Finished" and view["total"] == 5
    assert [t["type"] for t in view["tasks"]] == ["Basic", "ParametricSweep", "Basic"]
    assert scheduler.task_output(job, "2.3") == b"sweep-3\n"
    assert scheduler.task_output(job, "3.0") == b"legacy\n"


def test_node_prep_runs_once_on_each_node_before_any_index_there(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    d = marks(cluster)
    spec = {"tasks": [
        {"type": "NodePrep", "command": f"{NODE}; sleep 0.3; echo $CCP_JOBID >> {d}/prep-$node"},
        {"command": f"{NODE}; test -s {d}/prep-$node", "sweep": {"start": 1, "end": 40}},
    ]}  # fmt: skip
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Finished" and view["counts"]["Finished"] == 40
    nodes = {t["node"] for t in tasks_of(scheduler, job).values()}
    for node in nodes:  # every index found its node prepared; each node was prepared exactly once
        assert (d / f"prep-{node}").read_text() == f"{job}\n"
    steps = [s for s in view["node_steps"] if s["kind"] == "NodePrep"]
    assert sorted(s["node"] for s in steps) == sorted(nodes) and all(s["ok"] for s in steps)


def test_a_node_whose_node_prep_fails_is_excluded_from_the_job(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    spec = {"tasks": [
        {"type": "NodePrep", "command": f'{NODE}; test "$node" != local-1'},
        {"command": "sleep 0.2", "sweep": {"start": 1, "end": 20}},
    ]}  # fmt: skip
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Finished" and view["counts"]["Finished"] == 20
    assert {t["node"] for t in tasks_of(scheduler, job).values()} == {"local-2"}
    prep = {s["node"]: s for s in view["node_steps"] if s["kind"] == "NodePrep"}
    assert prep["local-2"]["ok"] is True
    if "local-1" in prep:  # it leased first and failed its prep: out of the job, its indices given back
        assert prep["local-1"]["ok"] is False and prep["local-1"]["exit_code"] == 1


def test_node_release_runs_once_on_each_node_when_the_job_ends(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    d = marks(cluster)
    spec = {"tasks": [
        {"type": "NodeRelease", "command": f"{NODE}; echo $CCP_JOBID >> {d}/release-$node"},
        {"command": f"{NODE}; touch {d}/ran-$node; sleep 0.2", "sweep": {"start": 1, "end": 12}},
    ]}  # fmt: skip
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Finished"
    ran = files_appear(d, "ran-*", 1)
    released = files_appear(d, "release-*", len(ran))
    assert [p.name.removeprefix("release-") for p in released] == [p.name.removeprefix("ran-") for p in ran]
    time.sleep(2)  # and never again
    assert all(p.read_text() == f"{job}\n" for p in released)


def test_node_release_runs_on_cancel_but_not_on_a_forced_cancel(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    for force in (False, True):
        d = marks(cluster)
        spec = {"tasks": [
            {"type": "NodeRelease", "command": f"{NODE}; touch {d}/release-$node", "max_run_time": 5},
            {"command": f"{NODE}; touch {d}/ran-$node; sleep 60", "sweep": {"start": 1, "end": 4}},
        ]}  # fmt: skip
        job = scheduler.submit_job(spec)
        assert files_appear(d, "ran-*", 2, within=WAIT)
        scheduler.cancel_job(job, force=force)
        assert scheduler.wait(job, timeout=WAIT, interval=0.1)["state"] == "Canceled"
        released = files_appear(d, "release-*", 2, within=5.0 if force else 15.0)
        assert (released == []) if force else len(released) == 2


# --- dependencies ---
def test_a_sweep_starts_only_when_its_parent_has_finished(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    d = marks(cluster)
    spec = {"tasks": [
        {"name": "sweep", "command": f"test -f {d}/setup-done", "sweep": {"start": 1, "end": 10},
         "depends_on": ["setup"]},
        {"name": "setup", "command": f"sleep 1; touch {d}/setup-done"},
    ]}  # fmt: skip
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Finished" and view["counts"]["Finished"] == 11
    tasks = tasks_of(scheduler, job)
    setup_end = tasks[(2, 0)]["ended_at"]
    assert all(t["started_at"] >= setup_end for (task, _), t in tasks.items() if task == 1)


def test_group_dependencies_order_whole_groups(cluster: LocalCluster, scheduler: Scheduler) -> None:
    d = marks(cluster)
    spec = {
        "group_dependencies": [{"parent": 1, "child": 2}],
        "tasks": [
            {"command": f"sleep 0.5; touch {d}/a", "group": 1},
            {"command": f"sleep 1; touch {d}/b", "group": 1},
            {"command": f"test -f {d}/a && test -f {d}/b", "group": 2, "sweep": {"start": 1, "end": 4}},
        ],
    }
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Finished" and view["counts"]["Finished"] == 6


def test_fail_dependent_tasks_decides_whether_a_failed_parent_cancels_its_children(
    scheduler: Scheduler,
) -> None:
    tasks = [
        {"name": "parent", "command": "exit 2"},
        {"name": "child", "command": "echo child", "depends_on": ["parent"]},
        {"command": "echo grandchild", "depends_on": ["child"]},
    ]
    job, view = submit_and_wait(scheduler, {"fail_dependent_tasks": True, "tasks": tasks})
    assert view["state"] == "Failed"
    assert view["counts"]["Failed"] == 1 and view["counts"]["Canceled"] == 2
    job, view = submit_and_wait(scheduler, {"tasks": tasks})  # the default: children still run
    assert view["state"] == "Failed"
    assert view["counts"]["Failed"] == 1 and view["counts"]["Finished"] == 2


@pytest.mark.parametrize(
    ("tasks", "field"),
    [
        ([{"command": "true", "depends_on": ["nobody"]}], "tasks[0].depends_on"),
        ([{"name": "a", "command": "true", "depends_on": ["b"]}, {"name": "b", "command": "true", "depends_on": ["a"]}],
         "tasks[0].depends_on"),
        ([{"command": "true", "valid_exit_codes": "0,5..3"}], "tasks.0.valid_exit_codes"),
        ([{"command": "true", "valid_exit_codes": "zero"}], "tasks.0.valid_exit_codes"),
        ([{"command": "true", "group": 1}, {"command": "true", "type": "NodePrep"}, {"command": "true", "type": "NodePrep"}],
         "tasks"),
    ],
)  # fmt: skip
def test_a_bad_job_model_is_a_400_naming_the_field(
    cluster: LocalCluster, tasks: list[dict], field: str
) -> None:
    headers = auth_headers(cluster.admin_token, cluster.url)
    response = httpx.post(f"{cluster.url}/api/jobs", json={"tasks": tasks}, headers=headers, verify=False)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == field


# --- failure and runtime attributes ---
def test_valid_exit_codes_decide_success(scheduler: Scheduler) -> None:
    spec = {"tasks": [{"command": "exit *", "sweep": {"start": 2, "end": 6}, "valid_exit_codes": "0,3..5"}]}
    job, view = submit_and_wait(scheduler, spec)
    states = {index: t["state"] for (_, index), t in tasks_of(scheduler, job).items()}
    assert states == {2: "Failed", 3: "Finished", 4: "Finished", 5: "Finished", 6: "Failed"}
    assert view["state"] == "Failed"


def test_fail_job_on_failure_ends_the_job_at_once(scheduler: Scheduler) -> None:
    spec = {"tasks": [
        {"command": "sleep 60", "sweep": {"start": 1, "end": 3}},
        {"command": "sleep 0.5; exit 1", "fail_job_on_failure": True},
    ]}  # fmt: skip
    began = time.monotonic()
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Failed" and time.monotonic() - began < 30
    assert "fail_job_on_failure" in view["message"]
    assert view["counts"]["Canceled"] == 3 and view["counts"]["Failed"] == 1


def test_a_job_past_its_runtime_fails(scheduler: Scheduler) -> None:
    began = time.monotonic()
    job, view = submit_and_wait(scheduler, {"runtime": 2, "tasks": [{"command": "sleep 60"}]})
    assert view["state"] == "Failed" and "runtime" in view["message"]
    assert time.monotonic() - began < 20
    assert view["counts"]["Canceled"] == 1


def test_the_job_environment_reaches_every_task_and_a_task_overrides_it(scheduler: Scheduler) -> None:
    spec = {
        "environment": {"A": "job-a", "B": "job-b"},
        "tasks": [{"command": 'echo "$A $B"'}, {"command": 'echo "$A $B"', "environment": {"B": "task-b"}}],
    }
    job, view = submit_and_wait(scheduler, spec)
    assert view["state"] == "Finished"
    assert scheduler.task_output(job, "1.0") == b"job-a job-b\n"
    assert scheduler.task_output(job, "2.0") == b"job-a task-b\n"


def test_job_submit_json_takes_a_whole_spec_file(
    cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPCBURST_URL", cluster.url)
    monkeypatch.setenv("HPCBURST_TOKEN", cluster.admin_token)
    spec = tmp_path / "job.json"
    spec.write_text(
        json.dumps({"tasks": [{"name": "a", "command": "true"}, {"command": "true", "depends_on": ["a"]}]})
    )
    result = CliRunner().invoke(app, ["job", "submit", "--json", str(spec), "--wait"])
    assert result.exit_code == 0, result.output
    assert "submitted job" in result.output
