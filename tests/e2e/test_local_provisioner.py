"""The local provisioner against a real local cluster: its "cloud" nodes boot after the delay, join the pool
with the join token, run the pool's work and vanish when deleted; an injected failure never joins."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.provisioners import local_process
from hpcburst.provisioners.local import LocalProvisioner
from hpcburst.provisioners.local_registry import Registry
from hpcburst.provisioners.port import PoolTarget

BURST = PoolTarget(pool="burst", vm_size="local-2")
WAIT = 60.0


def cluster_nodes(cluster: LocalCluster) -> dict[str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {cluster.admin_token}"}
    listed = httpx.get(f"{cluster.url}/api/nodes", headers=headers, timeout=5).json()["nodes"]
    return {n["name"]: n for n in listed}


@pytest.fixture
def work_root(cluster_dir: Path) -> Iterator[Path]:
    root = cluster_dir / "burst-nodes"  # inside the cluster's 0711 directory: task accounts can pass
    yield root
    if root.exists():  # whatever a failed test left running
        nodes = Registry(root).read().values()
        local_process.stop([n for n in nodes if local_process.alive(n)], signal.SIGKILL, 5.0)


def test_a_local_cloud_node_boots_joins_runs_the_pools_work_and_goes_when_deleted(
    cluster: LocalCluster, scheduler: Scheduler, work_root: Path
) -> None:
    provisioner = LocalProvisioner(work_root, cluster.url, boot_delay=1.0, extra_env=cluster.extra_env)
    [node] = provisioner.create(BURST, ["burst-1"], cluster.access().join_token("burst"))
    assert node.state == "Provisioning"

    deadline = time.monotonic() + WAIT
    while "burst-1" not in cluster_nodes(cluster):
        assert time.monotonic() < deadline, "burst-1 did not register"
        time.sleep(0.2)
    registered = cluster_nodes(cluster)["burst-1"]
    assert registered["cloud"] is True and registered["pool"] == "burst"
    assert [n.state for n in provisioner.list(BURST)] == ["Running"]

    job = scheduler.submit("echo index *", sweep="1-2", pool="burst")
    view = scheduler.wait(job, timeout=WAIT, interval=0.1)
    assert view["state"] == "Finished", view
    assert {scheduler.view_task(job, i)["node"] for i in (1, 2)} == {"burst-1"}

    pid = provisioner.registry.read()["burst-1"].pid
    assert pid is not None
    provisioner.delete(BURST, ["burst-1"])
    assert local_process.start_ticks(pid) is None  # the process is gone
    assert provisioner.list(BURST) == []


def test_a_node_that_never_boots_never_joins(cluster: LocalCluster, work_root: Path) -> None:
    provisioner = LocalProvisioner(work_root, cluster.url, fail_rate=1.0, extra_env=cluster.extra_env)
    provisioner.create(BURST, ["burst-dud"], cluster.access().join_token("burst"))
    time.sleep(3)
    assert "burst-dud" not in cluster_nodes(cluster)
    assert [n.state for n in provisioner.list(BURST)] == ["Provisioning"]
    provisioner.delete(BURST, ["burst-dud"])
    assert provisioner.list(BURST) == []
