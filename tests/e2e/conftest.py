"""One local cluster per e2e module: Azurite, the runtime (devhost on function_app.py), two agents x 2 slots.

The same code as `hpcburst up` (``LocalCluster``). Heartbeats are fast and the node timeout short so a
killed agent's work moves on in seconds. The cluster lives outside pytest's temp tree (0700 directories):
agents run as root here and so run tasks as an unprivileged account, which must reach its directory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcburst import constants as c
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster

AGENTS, SLOTS = 2, 2


@pytest.fixture(scope="module")
def cluster_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hpcburst-e2e-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(cluster_dir: Path) -> Iterator[LocalCluster]:
    env = {c.ENV_HEARTBEAT_INTERVAL: "0.5", c.ENV_NODE_TIMEOUT: "3"}
    local = LocalCluster(cluster_dir, env=env)
    local.start(agents=AGENTS, slots=SLOTS)
    yield local
    local.stop()


@pytest.fixture
def scheduler(cluster: LocalCluster) -> Iterator[Scheduler]:
    with Scheduler(cluster.url) as s:
        yield s
