"""Burst controller benchmark on the real runtime (bench/burst.py has the simulator's figures).

A local cluster with one on-premises agent (pool `default`) and burstable pools whose nodes the local
provisioner starts: real agent processes that boot --boot-delay seconds after their create. Each figure is
printed beside its goal and a baseline measured in the same run:

- provision: `hpcburst job submit` process start → the provisioner's create (the node's created_at in the
  local registry), p99 over --rounds submits, each into an empty pool of its own; goal ≤ 5 s;
- first index: the same start → the first index running on the new node (its started_at); goal ≤ boot
  delay + 5 s. Baseline (interleaved, one per round): the same submit onto the on-premises agent, already
  running, start → first index: the ratio is what bursting costs;
- scale to zero: the pool's last index ended → its last node deleted (the controller's stop time); goal ≤
  idle timeout + 30 s. Baseline: the earliest the pool's settings allow (idle timeout, delay after add);
- spot evictions: a sweep whose nodes are evicted without notice (SIGKILL) while they run indices; indices
  lost, goal 0. Baseline: the same sweep with no eviction (its makespan).

Run: ``.venv/bin/python bench/burst_e2e.py [--rounds 20] [--boot-delay 2] [--idle-timeout 5]``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hpcburst import constants as c  # noqa: E402
from hpcburst.client import Scheduler  # noqa: E402
from hpcburst.client.local_cluster import LocalCluster  # noqa: E402
from hpcburst.provisioners.factory import ENV_LOCAL_BOOT_DELAY  # noqa: E402
from hpcburst.provisioners.local import LocalProvisioner  # noqa: E402
from hpcburst.provisioners.local_registry import Registry  # noqa: E402

CLI = [str(Path(sys.executable).parent / "hpcburst")]
WAIT = 120.0
EVICTION_SWEEP = 12


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.2f} s, p99 {p99(values):.2f} s"


class Bench:
    def __init__(self, cluster: LocalCluster, s: Scheduler, args: argparse.Namespace) -> None:
        self.cluster, self.s, self.args = cluster, s, args
        self.env = {c.ENV_URL: cluster.url, c.ENV_TOKEN: cluster.admin_token}
        self.cli_seconds: list[float] = []  # how long each `hpcburst job submit` process ran

    # --- reading ---
    def cli_submit(self, pool: str, command: str, sweep: str) -> tuple[str, float]:
        """`hpcburst job submit` as a user runs it: the job's id, and when the process started."""
        began = time.time()
        argv = [*CLI, "job", "submit", "--pool", pool, "--sweep", sweep, "--", "sh", "-c", command]
        out = subprocess.run(argv, env={**os.environ, **self.env}, capture_output=True, text=True, check=True)
        self.cli_seconds.append(time.time() - began)
        return re.search(r"submitted job (\S+)", out.stdout)[1], began  # type: ignore[index]

    def created_at(self, pool: str) -> float:
        """When the provisioner made the pool's first node (the local registry's created_at)."""
        registry = Registry(self.cluster.cloud_dir)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            made = [n.created_at for n in registry.read().values() if n.pool == pool]
            if made:
                return min(made)
            time.sleep(0.02)
        raise TimeoutError(f"no node created in {pool}")

    def finished(self, job: str) -> list[dict[str, Any]]:
        view = self.s.wait(job, timeout=WAIT, interval=0.05)
        assert view["state"] == "Finished", view
        return list(self.s.tasks(job))

    def burst_pool(self, name: str, **more: Any) -> None:
        self.cluster.create_cloud_pool(name, max_nodes=1, slots=2, idle_timeout=self.args.idle_timeout,
                                       delay_after_add=self.args.idle_timeout, **more)  # fmt: skip

    # --- the figures ---
    def rounds(self) -> dict[str, list[float]]:
        """Per round, one submit onto the on-premises agent (baseline) and one into an empty burst pool."""
        figures: dict[str, list[float]] = {"provision": [], "first": [], "baseline": [], "zero": []}
        pools = [f"burst-{k:02d}" for k in range(self.args.rounds + 1)]
        for pool in pools:
            self.burst_pool(pool)
        ended: dict[str, float] = {}
        for k, pool in enumerate(pools):  # round 0 warms up (first CLI start, first node): not counted
            job, began = self.cli_submit("default", "echo index *", "1-2")
            baseline = min(t["started_at"] for t in self.finished(job)) - began
            job, began = self.cli_submit(pool, "echo index *", "1-2")
            created = self.created_at(pool)
            tasks = self.finished(job)
            ended[pool] = max(t["ended_at"] for t in tasks)
            if k == 0:
                self.cli_seconds.clear()
            else:
                figures["provision"].append(created - began)
                figures["first"].append(min(t["started_at"] for t in tasks) - began)
                figures["baseline"].append(baseline)
        figures["zero"] = self.scale_to_zero(ended)
        return figures

    def scale_to_zero(self, ended: dict[str, float]) -> list[float]:
        """Per pool: its last index's end → its last node's stop; once every pool has no node left."""
        deadline = time.monotonic() + WAIT
        while any(self.live(pool) for pool in ended):
            assert time.monotonic() < deadline, "the burst pools did not scale to zero"
            time.sleep(0.2)
        stopped: dict[str, float] = {}
        for node in self.s.cloud_nodes():
            if node["pool"] in ended and node.get("stopped_at"):
                stopped[node["pool"]] = max(stopped.get(node["pool"], 0.0), node["stopped_at"])
        return [stopped[pool] - ended[pool] for pool in list(ended)[1:]]

    def live(self, pool: str) -> bool:
        """The pool still has a node: in the controller's record, the cloud (registry) or as a process."""
        [status] = [p for p in self.s.burst_status()["pools"] if p["name"] == pool]
        in_cloud = any(n.pool == pool for n in Registry(self.cluster.cloud_dir).read().values())
        return bool(status["nodes"]) or in_cloud

    def agent_processes(self) -> int:
        """Agent processes of burst nodes still running on this machine."""
        root = str(self.cluster.cloud_dir)
        return sum("nodeagent" in " ".join(cmd) and root in " ".join(cmd)
                   for cmd in (p.info["cmdline"] or [] for p in psutil.process_iter(["cmdline"])))  # fmt: skip

    def evictions(self) -> tuple[int, int, int, float, float]:
        """(nodes evicted, indices lost, indices run again, makespan with evictions, makespan without) of the
        same sweep."""
        command, sweep = "sleep 2 && echo index *", f"1-{EVICTION_SWEEP}"
        self.cluster.create_cloud_pool(
            "calm", max_nodes=2, slots=2, spot=True, idle_timeout=1, delay_after_add=1
        )
        job, began = self.cli_submit("calm", command, sweep)
        calm = max(t["ended_at"] for t in self.finished(job)) - began
        self.cluster.create_cloud_pool(
            "spot", max_nodes=2, slots=2, spot=True, idle_timeout=1, delay_after_add=1
        )
        provisioner = LocalProvisioner(self.cluster.cloud_dir, self.cluster.url)
        job, began = self.cli_submit("spot", command, sweep)
        evicted: set[str] = set()
        for _ in range(2):  # two nodes, each evicted while it runs indices
            node = self._running_node(job, evicted)
            if node is None:
                break
            provisioner.evict(node, signal.SIGKILL)
            evicted.add(node)
        tasks = self.finished(job)
        once = {t["index"] for t in tasks if t["state"] == "Finished" and t["exit_code"] == 0}
        outputs_ok = all(self.s.task_output(job, i) == f"index {i}\n".encode() for i in once)
        lost = EVICTION_SWEEP - len(once) + (0 if outputs_ok and len(tasks) == len(once) else 1)
        rerun = sum(t["attempt"] > 1 for t in tasks)
        return len(evicted), lost, rerun, max(t["ended_at"] for t in tasks) - began, calm

    def _running_node(self, job: str, not_these: set[str]) -> str | None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            tasks = list(self.s.tasks(job))
            if all(t["state"] == "Finished" for t in tasks) and len(tasks) == EVICTION_SWEEP:
                return None
            running = [t["node"] for t in tasks if t["state"] == "Running" and t["node"] not in not_these]
            if running:
                return str(running[0])
            time.sleep(0.05)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20, help="submits into an empty pool (p99 over them)")
    parser.add_argument(
        "--boot-delay", type=float, default=2.0, help="seconds a local cloud node takes to boot"
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=5.0, help="the pools' idle timeout and delay after add"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpcburst-bench-burst-") as tmp:
        Path(tmp).chmod(0o711)  # agents running as root run tasks as accounts that must reach their directory
        env = {
            c.ENV_HEARTBEAT_INTERVAL: "0.5",
            c.ENV_NODE_TIMEOUT: "3",
            ENV_LOCAL_BOOT_DELAY: f"{args.boot_delay:g}",
        }
        cluster = LocalCluster(Path(tmp), env=env)
        cluster.start(agents=1, slots=2)
        try:
            with Scheduler(cluster.url, token=cluster.admin_token) as s:
                report(Bench(cluster, s, args), args)
        finally:
            cluster.stop()


def report(bench: Bench, args: argparse.Namespace) -> None:
    print(f"local cluster: 1 on-premises agent x 2 slots; burst pools of 1 node x 2 slots booting {args.boot_delay:g} s "
          f"after their create, idle timeout and delay after add {args.idle_timeout:g} s; {args.rounds} rounds, "
          "each a 2-index sweep submitted with the CLI\n")  # fmt: skip
    f = bench.rounds()
    first, base = f["first"], f["baseline"]
    verdict = "ok" if p99(f["provision"]) <= 5 else "MISS"
    print(f"submit → provision call:            {spread(f['provision'])}   goal p99 ≤ 5 s: {verdict}")
    print(f"  baseline: the `job submit` process alone, start → exit: {spread(bench.cli_seconds)}")
    goal = args.boot_delay + 5
    verdict = "ok" if p99(first) <= goal else "MISS"
    print(
        f"submit → first index on a new node: {spread(first)}   goal p99 ≤ boot delay + 5 = {goal:g} s: {verdict}"
    )
    print(f"  baseline: the same submit onto the running on-premises agent: {spread(base)}; "
          f"burst/baseline p50 {statistics.median(first) / statistics.median(base):.1f}x")  # fmt: skip
    goal = args.idle_timeout + 30
    verdict = "ok" if p99(f["zero"]) <= goal else "MISS"
    print(
        f"last index → scaled to zero:        {spread(f['zero'])}   goal p99 ≤ idle timeout + 30 = {goal:g} s: {verdict}"
    )
    left = sum(bench.live(f"burst-{k:02d}") for k in range(args.rounds + 1))
    print(f"  baseline: the settings allow it no sooner than the idle timeout, {args.idle_timeout:g} s; after it "
          f"{left} pool(s) with a node, {bench.agent_processes()} agent process(es) left")  # fmt: skip
    evicted, lost, rerun, took, calm = bench.evictions()
    verdict = "ok" if lost == 0 else "MISS"
    print(f"spot evictions: {evicted} nodes evicted (SIGKILL, no notice) mid-sweep of {EVICTION_SWEEP} x 2 s: "
          f"{lost} indices lost, goal 0: {verdict}; {rerun} run again; makespan {took:.1f} s")  # fmt: skip
    print(f"  baseline: the same sweep with no eviction: makespan {calm:.1f} s")


if __name__ == "__main__":
    main()
