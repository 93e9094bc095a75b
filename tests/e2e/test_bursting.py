"""Bursting end to end: the real runtime's burst controller starts "cloud" nodes with the local provisioner
(real agent processes), they run the work, and they go again.

One cluster with no on-premises agent serves every test but the boot-failure one (which needs a runtime whose
provisioner never boots a node); each test bursts into its own pool, so their nodes never mix. Pools are quick
(idle 1 s, delay after add 1 s, nodes boot 1 s after their create) so a test sees a whole burst in seconds.
Nothing here times anything: each wait is a deadline on a condition, the assertions are about what happened.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from e2e_waits import by_index, until
from typer.testing import CliRunner

from hpcburst import constants as c
from hpcburst.cli.main import app
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.provisioners.factory import ENV_LOCAL_BOOT_DELAY, ENV_LOCAL_FAIL_RATE
from hpcburst.provisioners.local import LocalProvisioner
from hpcburst.provisioners.local_registry import Registry

WAIT = 60.0
QUICK = {"idle_timeout": 1, "delay_after_add": 1}  # a node goes 1 s after it was added and went idle
# Jobs that name no pool burst into the cheapest enabled pool: `cloud` is made the cheapest, so the other
# tests' pools never take its work.
CHEAPEST = 0.05


# --- clusters ---
def cluster_env(**more: str) -> dict[str, str]:
    return {c.ENV_HEARTBEAT_INTERVAL: "0.5", c.ENV_NODE_TIMEOUT: "3", ENV_LOCAL_BOOT_DELAY: "1", **more}


@pytest.fixture(scope="module")
def cluster(cluster_dir: Path) -> Iterator[LocalCluster]:
    """No on-premises agent: any capacity there is comes from the burst controller."""
    local = LocalCluster(cluster_dir, env=cluster_env())
    local.start(agents=0)
    yield local
    local.stop()


@pytest.fixture
def scheduler(cluster: LocalCluster) -> Iterator[Scheduler]:
    with Scheduler(cluster.url, token=cluster.admin_token) as s:
        yield s


@pytest.fixture
def failing_cluster() -> Iterator[LocalCluster]:
    """A cluster whose provisioner makes nodes that never boot (every one of them)."""
    path = Path(tempfile.mkdtemp(prefix="hpcburst-e2e-duds-"))
    path.chmod(0o711)  # agents running as root run tasks as accounts that must pass through it
    local = LocalCluster(path, env=cluster_env(**{ENV_LOCAL_FAIL_RATE: "1"}))
    local.start(agents=0)
    yield local
    local.stop()
    shutil.rmtree(path, ignore_errors=True)


# --- what the tests read ---


def assert_every_index_finished_once(s: Scheduler, job: str, indices: range) -> dict[int, dict[str, Any]]:
    tasks = by_index(s, job)
    assert sorted(tasks) == list(indices)
    for i, task in tasks.items():
        assert (task["state"], task["exit_code"], task["retry_count"]) == ("Finished", 0, 0), task
        assert s.task_output(job, i) == f"index {i}\n".encode()  # one run's output, recorded once
    return tasks


def created(s: Scheduler, pool: str, since: float) -> list[str]:
    """The names of the nodes the controller decided to create in ``pool`` since ``since`` (its log)."""
    actions = [a for d in s.burst_log(limit=1000, since=since) for a in d["actions"]]
    return [n for a in actions if a["kind"] == "create" and a["pool"] == pool for n in a["names"]]


def live_nodes(s: Scheduler, pool: str) -> dict[str, int]:
    """The controller's nodes of ``pool`` by state, as `burst status` counts them (stopped ones are not)."""
    [status] = [p for p in s.burst_status()["pools"] if p["name"] == pool]
    return dict(status["nodes"])


def registered_in_cloud(cluster: LocalCluster, pool: str) -> list[str]:
    """What the local provisioner's registry still lists in ``pool`` (what would bill in a real cloud)."""
    return sorted(n for n, node in Registry(cluster.cloud_dir).read().items() if node.pool == pool)


def agent_processes(cluster: LocalCluster, pool: str) -> list[str]:
    """The nodes of ``pool`` whose agent process still runs on this machine."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "nodeagent" in cmd and str(cluster.cloud_dir) in " ".join(cmd) and _arg(cmd, "--pool") == pool:
            found.append(_arg(cmd, "--node") or "?")
    return sorted(found)


def _arg(cmd: list[str], flag: str) -> str | None:
    return cmd[cmd.index(flag) + 1] if flag in cmd[:-1] else None


def gone_to_zero(s: Scheduler, cluster: LocalCluster, pool: str) -> bool:
    return (
        not live_nodes(s, pool)
        and not registered_in_cloud(cluster, pool)
        and not agent_processes(cluster, pool)
    )


def cli(cluster: LocalCluster, *argv: str) -> str:
    """`hpcburst ARGV` as a user runs it, its output with table borders and line wraps taken out."""
    env = {c.ENV_URL: cluster.url, c.ENV_TOKEN: cluster.admin_token, "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(argv), env=env)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.replace("│", " ").split())


def make_cloud_pool(cluster: LocalCluster) -> None:
    cluster.create_cloud_pool("cloud", max_nodes=2, slots=2, price_per_hour=CHEAPEST, **QUICK)


# --- the tests ---
def test_a_sweep_with_no_on_premises_agent_bursts_finishes_and_scales_to_zero(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    make_cloud_pool(cluster)
    since = time.time()
    job = scheduler.submit("echo index *", sweep=(1, 6))
    assert scheduler.wait(job, timeout=WAIT, interval=0.1)["state"] == "Finished"

    tasks = assert_every_index_finished_once(scheduler, job, range(1, 7))
    made = created(scheduler, "cloud", since)
    assert made and {t["node"] for t in tasks.values()} <= set(made)  # only burst nodes ran it
    until(lambda: gone_to_zero(scheduler, cluster, "cloud"), "the pool scaled to zero")
    stopped = {n["name"]: n for n in scheduler.cloud_nodes() if n["name"] in made}
    assert {n["state"] for n in stopped.values()} == {"Stopped"}
    assert {n["cause"] for n in stopped.values()} == {"idle"}


def test_a_never_burst_job_waits_with_its_reason_shown_and_never_runs_on_a_cloud_node(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    make_cloud_pool(cluster)
    since = time.time()
    pinned = scheduler.submit("echo index *", sweep=(1, 3), never_burst=True)
    reason = until(lambda: scheduler.view_job(pinned).get("waiting_reason"), "a waiting reason")
    assert reason.startswith("never-burst job: no on-premises node is online")
    assert reason in cli(cluster, "job", "view", pinned)

    # Cloud capacity comes for other work, and stays idle a while: the never-burst job is still not theirs.
    other = scheduler.submit("echo index *", sweep=(1, 1))
    assert scheduler.wait(other, timeout=WAIT, interval=0.1)["state"] == "Finished"
    assert len(created(scheduler, "cloud", since)) == 1  # for the other job's one index: none for the three
    assert all(t["state"] == "Queued" and "node" not in t for t in by_index(scheduler, pinned).values())
    assert scheduler.view_job(pinned)["state"] != "Finished"

    cluster.start_agent("onprem-1", slots=2, pool="default")
    try:
        assert scheduler.wait(pinned, timeout=WAIT, interval=0.1)["state"] == "Finished"
        tasks = assert_every_index_finished_once(scheduler, pinned, range(1, 4))
        assert {(t["node"], t["attempt"]) for t in tasks.values()} == {("onprem-1", 1)}  # one run each, there
    finally:
        cluster.kill("agent:onprem-1")


def test_a_job_naming_a_burst_pool_bursts_although_an_agent_of_another_pool_is_idle(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    make_cloud_pool(cluster)  # `cloud` is where jobs naming no pool burst: the idle agent's slots are theirs
    until(lambda: gone_to_zero(scheduler, cluster, "cloud"), "no cloud node left from earlier tests")
    cluster.start_agent("idle-1", slots=2, pool="default")
    cluster.wait_for_agents(["idle-1"])
    try:
        since = time.time()
        job = scheduler.submit("echo index *", sweep=(1, 2), pool="cloud")
        assert scheduler.wait(job, timeout=WAIT, interval=0.1)["state"] == "Finished"
        tasks = assert_every_index_finished_once(scheduler, job, range(1, 3))
        assert {t["node"] for t in tasks.values()} <= set(created(scheduler, "cloud", since))
    finally:
        cluster.kill("agent:idle-1")


def test_a_spot_eviction_mid_sweep_loses_no_index(cluster: LocalCluster, scheduler: Scheduler) -> None:
    cluster.create_cloud_pool("spot", max_nodes=2, slots=2, spot=True, **QUICK)
    job = scheduler.submit("sleep 3 && echo index *", sweep=(1, 6), pool="spot")

    def a_node_running_work() -> str | None:
        running = [t["node"] for t in by_index(scheduler, job).values() if t["state"] == "Running"]
        return running[0] if running else None

    victim = until(a_node_running_work, "an index running on a spot node")
    LocalProvisioner(cluster.cloud_dir, cluster.url).evict(victim, signal.SIGKILL)  # no notice, no drain
    lost = [i for i, t in by_index(scheduler, job).items() if t["state"] == "Running" and t["node"] == victim]
    assert lost  # the agent is dead: what it ran can no longer report

    assert scheduler.wait(job, timeout=WAIT, interval=0.1)["state"] == "Finished"
    tasks = assert_every_index_finished_once(scheduler, job, range(1, 7))
    for i in lost:
        assert tasks[i]["node"] != victim and tasks[i]["attempt"] == 2, tasks[i]  # ran again, elsewhere
    [gone] = [n for n in scheduler.cloud_nodes() if n["name"] == victim]
    assert (gone["state"], gone["cause"]) == ("Stopped", "evicted")
    assert victim not in registered_in_cloud(cluster, "spot") and victim not in agent_processes(
        cluster, "spot"
    )


def test_a_cost_cap_holds_the_pool_below_what_the_backlog_wants(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    # $1/h a node, capped at $2/h: two nodes, although six one-slot indices want six (and max is four).
    cluster.create_cloud_pool(
        "capped", max_nodes=4, slots=1, price_per_hour=1.0, cost_cap_per_hour=2.0, **QUICK
    )
    since = time.time()
    job = scheduler.submit("sleep 3 && echo index *", sweep=(1, 6), pool="capped")
    most = 0
    while scheduler.view_job(job)["state"] not in ("Finished", "Failed", "Canceled"):
        most = max(
            most, len(registered_in_cloud(cluster, "capped")), sum(live_nodes(scheduler, "capped").values())
        )
        time.sleep(0.1)

    tasks = assert_every_index_finished_once(scheduler, job, range(1, 7))
    assert most <= 2
    assert len(created(scheduler, "capped", since)) == 2
    assert len({t["node"] for t in tasks.values()}) == 2
    reasons = [d["reason"] for d in scheduler.burst_log(limit=1000, since=since)]
    assert any("+0 nodes in `capped` (cap allows 0, wanted" in r for r in reasons), reasons


def test_a_node_that_never_boots_is_replaced_the_pool_backs_off_then_is_disabled_with_its_reason(
    failing_cluster: LocalCluster,
) -> None:
    cluster = failing_cluster
    cli(cluster, "pool", "create", "duds", "--provisioner", "local", "--max", "1", "--slots", "1",
        "--boot-timeout", "1", "--backoff", "2")  # fmt: skip
    with Scheduler(cluster.url, token=cluster.admin_token) as s:
        since = time.time()
        job = s.submit("echo index *", sweep=(1, 2), pool="duds")

        def status() -> dict[str, Any]:
            [pool] = [p for p in s.burst_status()["pools"] if p["name"] == "duds"]
            return dict(pool)

        backing_off = until(lambda: status()["backoff_until"] and status(), "the pool backing off")
        assert backing_off["recent_failures"] >= 1
        disabled = until(lambda: status()["disabled_reason"], "the pool disabled")
        assert disabled == "3 boot failures within 1 h: pool `duds` disabled until an admin re-enables it"

        log = s.burst_log(limit=1000, since=since)
        steps = [
            (a["kind"], a.get("node") or ",".join(a.get("names", []))) for d in log for a in d["actions"]
        ]
        assert [step for step in steps if step[0] in ("create", "delete")] == [
            ("create", "duds-00001"), ("delete", "duds-00001"),  # not registered within its boot timeout
            ("create", "duds-00002"), ("delete", "duds-00002"),
            ("create", "duds-00003"), ("delete", "duds-00003"),  # the third failure: no fourth node
        ]  # fmt: skip
        deletes = [a for d in log for a in d["actions"] if a["kind"] == "delete"]
        assert {a["cause"] for a in deletes} == {"boot_timeout"}
        assert any("backing off in `duds`" in d["reason"] for d in log)
        until(lambda: not registered_in_cloud(cluster, "duds") and not status()["nodes"], "the duds deleted")
        assert s.view_job(job)["waiting_reason"].startswith(f"pool `duds` is disabled: {disabled}")
        assert f"disabled: {disabled}" in cli(cluster, "burst", "status")

        assert "pool duds: enabled" in cli(cluster, "burst", "enable", "duds")
        assert status()["disabled_reason"] is None


def test_kill_9_of_the_runtime_mid_burst_leaves_no_orphan_after_a_restart(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    cluster.create_cloud_pool("crash", max_nodes=2, slots=1, **QUICK)
    job = scheduler.submit("sleep 2 && echo index *", sweep=(1, 4), pool="crash")
    until(lambda: any(t["state"] == "Running" for t in by_index(scheduler, job).values()), "a running index")

    cluster.kill("devhost", signal.SIGKILL)
    survivors = agent_processes(cluster, "crash")
    assert survivors and survivors == registered_in_cloud(
        cluster, "crash"
    )  # the nodes outlive their controller
    cluster.start_runtime()

    assert scheduler.wait(job, timeout=WAIT, interval=0.1)["state"] == "Finished"
    assert_every_index_finished_once(scheduler, job, range(1, 5))
    until(lambda: gone_to_zero(scheduler, cluster, "crash"), "the pool scaled to zero after the restart")
    assert set(survivors) <= {n["name"] for n in scheduler.cloud_nodes() if n["state"] == "Stopped"}
