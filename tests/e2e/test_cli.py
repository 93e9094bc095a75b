"""The `hpcburst` command against a running local cluster (HPCBURST_URL points at it)."""

from __future__ import annotations

import re
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import ClusterState, LocalCluster
from hpcburst.emulators import free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def point_at(cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPCBURST_URL", cluster.url)
    monkeypatch.setenv("HPCBURST_TOKEN", cluster.admin_token)


def cli(*argv: str) -> str:
    result = runner.invoke(app, list(argv))
    assert result.exit_code == 0, result.output
    return result.output


def test_submit_wait_view_and_task_view(scheduler: Scheduler) -> None:
    out = cli("job", "submit", "--name", "cli-sweep", "--sweep", "1-6:5", "--env", "GREETING=hi", "--wait",
              "--", "sh", "-c", "echo $GREETING-*")  # fmt: skip
    job = re.search(r"submitted job (\S+)", out)[1]  # type: ignore[index]
    assert f"job {job} Finished" in out
    assert "cli-sweep" in cli("job", "list")
    assert "Finished 2" in cli("job", "view", job)
    shown = cli("task", "view", f"{job}.6")
    assert "hi-6" in shown and "Finished" in shown


def test_a_failed_job_makes_wait_exit_1_and_requeue_reports_the_count(scheduler: Scheduler) -> None:
    result = runner.invoke(app, ["job", "submit", "--sweep", "1-3", "--wait", "--", "sh", "-c", "exit 2"])
    assert result.exit_code == 1 and "Failed" in result.output
    job = re.search(r"submitted job (\S+)", result.output)[1]  # type: ignore[index]
    assert "requeued 3" in cli("job", "requeue", job)
    assert runner.invoke(app, ["job", "wait", job]).exit_code == 1


def test_an_offline_node_takes_no_work_until_it_is_online_again(scheduler: Scheduler) -> None:
    assert "local-2" in cli("node", "list")
    assert "Offline" in cli("node", "offline", "local-2")
    try:
        job = scheduler.submit(["echo", "*"], sweep="1-30")
        assert scheduler.wait(job, timeout=60)["state"] == "Finished"
        assert {t["node"] for t in scheduler.tasks(job)} == {"local-1"}
    finally:
        assert "Online" in cli("node", "online", "local-2")


def test_unknown_things_are_one_line_errors(scheduler: Scheduler) -> None:
    result = runner.invoke(app, ["job", "view", "999999"])
    assert result.exit_code == 1 and "999999" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["node", "offline", "no-such-node"])
    assert result.exit_code == 1 and "hpcburst node list" in result.output


def test_up_starts_a_cluster_in_the_background_and_down_stops_every_part(
    task_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("HPCBURST_URL", f"http://127.0.0.1:{port}")
    data = str(task_root / "cluster")  # its agent's tasks run unprivileged: they must reach its directory
    out = cli("up", "--agents", "1", "--slots", "1", "--port", str(port), "--data-dir", data)
    assert f"http://127.0.0.1:{port}" in out
    state = ClusterState.load(Path(data))
    assert state is not None and set(state.pids) == {"azurite", "devhost", "agent:local-1"}
    try:
        again = runner.invoke(app, ["up", "--port", str(port), "--data-dir", data])
        assert again.exit_code == 1 and "hpcburst down" in again.output
        token = (Path(data) / "admin.token").read_text().strip()  # `up` keeps the local admin's token there
        with Scheduler(f"http://127.0.0.1:{port}", token=token) as s:
            assert s.wait(s.submit(["echo", "up"]), timeout=60)["state"] == "Finished"
    finally:
        assert "cluster stopped" in cli("down", "--data-dir", data)
    assert not [pid for pid in state.pids.values() if _running(pid)]


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_an_admin_adds_a_user_whose_token_sees_only_their_own_jobs(
    scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    admins_job = scheduler.submit(["true"])
    token = cli("user", "add", "cli-ana").strip().splitlines()[-1]
    assert token.startswith("hpb_u_")
    assert "cli-ana" in cli("user", "list")
    monkeypatch.setenv("HPCBURST_TOKEN", token)
    assert "cli-ana (user)" in cli("whoami")
    result = runner.invoke(app, ["job", "view", admins_job])
    assert result.exit_code == 1 and "not found" in result.output
    result = runner.invoke(app, ["user", "add", "mallory", "--admin"])
    assert result.exit_code == 1 and "only admins" in result.output
    spare = cli("token", "create", "--description", "ci").strip().splitlines()[-1]
    (spare_id,) = [t["id"] for t in Scheduler(token=spare).access.tokens() if t["description"] == "ci"]
    assert f"revoked user token {spare_id}" in cli("token", "revoke", spare_id)
    result = runner.invoke(app, ["job", "list"], env={"HPCBURST_TOKEN": spare})
    assert result.exit_code == 1 and "not valid" in result.output


def test_an_admin_mints_a_join_token_and_sets_a_pools_allowed_workdirs() -> None:
    cli("pool", "create", "cli-pool", "--allow-workdir", "/srv/shared/../scratch")
    assert "/srv/scratch" in cli("pool", "show", "cli-pool")
    assert cli("pool", "join-token", "cli-pool").strip().splitlines()[-1].startswith("hpb_j_")
    cli("pool", "set", "cli-pool", "--clear-workdirs")
    assert "allowed absolute workdirs -" in cli("pool", "show", "cli-pool")
    cli("pool", "delete", "cli-pool")
    result = runner.invoke(app, ["pool", "show", "cli-pool"])
    assert result.exit_code == 1 and "hpcburst pool create cli-pool" in result.output


def test_an_admin_makes_a_pool_burstable_and_changes_only_the_settings_named() -> None:
    out = cli("pool", "create", "cli-cloud", "--provisioner", "local", "--max", "4", "--slots", "2",
              "--spot", "--price", "0.3", "--cap-hour", "1.2")  # fmt: skip
    assert "bursts with local: 0-4 spot nodes x 2 slots at $0.3/h" in out and "$1.2/h" in out
    out = cli("pool", "set", "cli-cloud", "--max", "6", "--regular")
    assert "0-6 regular nodes x 2 slots at $0.3/h" in out
    result = runner.invoke(app, ["pool", "set", "cli-cloud", "--min", "9"])
    assert result.exit_code == 1 and "min_nodes (9) must not exceed max_nodes (6)" in result.output
    assert "no bursting" in cli("pool", "set", "cli-cloud", "--no-burst")
    result = runner.invoke(app, ["pool", "create", "cli-nameless", "--max", "3"])
    assert result.exit_code == 1 and "--provisioner" in result.output
    cli("pool", "delete", "cli-cloud")
