"""Spot workers end to end: an eviction mid-sweep loses nothing, and a worker whose controller is gone stops.

A fake Instance Metadata Service on loopback announces the eviction, as Azure does to a spot VM; the real
runtime, Azurite and agent processes do the rest (see conftest).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from e2e_waits import by_index, until
from imds_fakes import FakeImds

from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.emulators import free_port

WAIT = 60.0


def test_an_eviction_mid_sweep_loses_nothing(cluster: LocalCluster, scheduler: Scheduler) -> None:
    with FakeImds() as imds:
        spot = ["--scheduled-events-url", imds.url]
        cluster.start_agent("spot-1", slots=2, pool="spot", cloud=True, extra_args=spot)
        cluster.wait_for_agents(["spot-1"])
        job = scheduler.submit("sleep 4 && echo index *", sweep="1-4", pool="spot")

        def running_on_spot_1() -> list[int] | None:
            tasks = by_index(scheduler, job)
            running = [i for i, t in tasks.items() if t["state"] == "Running" and t.get("node") == "spot-1"]
            return running if len(running) == 2 else None

        evicted = until(running_on_spot_1)
        imds.announce("Preempt", "spot-1")

        # Given back at once: spot-1 still heartbeats, so no node timeout could have re-queued them.
        def given_back() -> dict[int, dict[str, Any]] | None:
            tasks = by_index(scheduler, job)
            return tasks if all(tasks[i]["state"] == "Queued" for i in evicted) else None

        tasks = until(given_back, timeout=15)
        for i in evicted:
            assert tasks[i]["message"] == "given back: spot eviction of node spot-1"
            assert tasks[i]["retry_count"] == 0 and "node" not in tasks[i]

        cluster.start_agent(
            "spot-2", slots=2, pool="spot", cloud=True, extra_args=spot
        )  # ignores spot-1's event
        view = scheduler.wait(job, timeout=WAIT, interval=0.1)
        assert view["state"] == "Finished", view
        assert imds.polls > 0
    tasks = by_index(scheduler, job)
    assert sorted(tasks) == [1, 2, 3, 4]  # no index lost
    for i, task in tasks.items():
        assert (task["state"], task["exit_code"], task["retry_count"]) == ("Finished", 0, 0)
        assert (
            task["node"] == "spot-2"
        )  # the evicted ones ran again elsewhere (the rest never left the queue)
        assert task["attempt"] == (2 if i in evicted else 1)
        assert scheduler.task_output(job, i) == f"index {i}\n".encode()  # recorded once, from one run
    cluster.kill("agent:spot-1")
    cluster.kill("agent:spot-2")


def test_a_cloud_agent_that_cannot_reach_its_controller_stops_itself(cluster_dir: Path) -> None:
    marker = cluster_dir / "dead-man-fired"
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: the controller is gone
    cmd = [sys.executable, "-m", "nodeagent", "--url", dead, "--node", "lost-1", "--cloud", "--join-token", "x",
           "--workdir", str(cluster_dir / "lost-1"), "--scheduled-events-url", f"{dead}/metadata/scheduledevents",
           "--dead-man-minutes", "0.05", "--on-dead-man", f"touch {marker}"]  # fmt: skip
    began = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert marker.exists(), done.stderr[-2000:]
    assert 3.0 <= time.monotonic() - began < 30
    assert "dead-man switch" in done.stderr
