"""`hpcburst clusrun` on a real local cluster (the runtime, two agents): each node's output under its name with
its exit code; a clusrun is a job of its own, listed and canceled like any other."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster

runner = CliRunner()


@pytest.fixture(autouse=True)
def point_at(cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPCBURST_URL", cluster.url)
    monkeypatch.setenv("HPCBURST_TOKEN", cluster.admin_token)


def clusrun(*argv: str) -> tuple[int, str]:
    result = runner.invoke(app, ["clusrun", *argv])
    return result.exit_code, result.output


def test_clusrun_shows_each_nodes_output_under_its_name_with_its_exit_code() -> None:
    code, out = clusrun("--all", "--", "sh", "-c", 'echo "hello from $CCP_NODES"')
    assert code == 0, out
    assert "----- local-1 returns 0 -----\nhello from 1 local-1 1\n" in out
    assert "----- local-2 returns 0 -----\nhello from 1 local-2 1\n" in out
    assert "2 nodes succeeded, 0 failed" in out


def test_one_node_failing_makes_clusrun_exit_non_zero() -> None:
    script = 'echo "stderr of $CCP_NODES" >&2; case "$CCP_NODES" in *local-2*) exit 3;; esac'
    code, out = clusrun("--pool", "default", "--", "sh", "-c", script)
    assert code == 1, out
    assert "----- local-1 returns 0 -----\nstderr of 1 local-1 1\n" in out
    assert "----- local-2 returns 3 -----\nstderr of 1 local-2 1\n" in out
    assert "1 nodes succeeded, 1 failed: local-2" in out


def test_a_clusrun_is_a_job_listed_and_canceled_like_any_other(scheduler: Scheduler) -> None:
    job = scheduler.clusrun(["sleep", "60"], nodes=["local-2", "local-1"])
    listed = runner.invoke(app, ["job", "list"]).output
    assert job in listed and "clusrun:" in listed
    assert any(j["id"] == job and j["name"] == "clusrun: sleep 60" for j in scheduler.list_jobs())
    shown = runner.invoke(app, ["job", "view", job]).output
    assert "(on node local-2)" in shown and "(on node local-1)" in shown
    cancel = runner.invoke(app, ["job", "cancel", job])
    assert cancel.exit_code == 0 and "Canceled" in cancel.output
    assert scheduler.wait(job, timeout=30)["state"] == "Canceled"  # its agents kill the running sleeps
    runs = scheduler.clusrun_results(job)
    assert [(r.node, r.state, r.succeeded) for r in runs] == [
        ("local-2", "Canceled", False),
        ("local-1", "Canceled", False),
    ]


def test_nodes_that_do_not_exist_are_one_error_naming_them_and_no_job() -> None:
    code, out = clusrun("--nodes", "local-1,no-such-node", "--", "true")
    assert code == 1 and "no such node: no-such-node" in out and "Traceback" not in out
