"""One local cluster per e2e module: Azurite, the runtime (devhost on function_app.py), two agents x 2 slots.

The same code as `hpcburst up` (``LocalCluster``): its agents hold no storage key, only the service's grants.
Heartbeats are fast and the node timeout short so a killed agent's work moves on in seconds. The cluster lives
outside pytest's temp tree (0700 directories): agents run as root here and so run tasks as an unprivileged
account, which must reach its directory.
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
MAX_OUTPUT = 1024 * 1024


@pytest.fixture(scope="module")
def cluster_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hpcburst-e2e-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(cluster_dir: Path) -> Iterator[LocalCluster]:
    # A 1 MiB page of output per request (default 8 MiB) so paging is exercised with small outputs.
    env = {c.ENV_HEARTBEAT_INTERVAL: "0.5", c.ENV_NODE_TIMEOUT: "3", c.ENV_MAX_OUTPUT_BYTES: str(MAX_OUTPUT)}
    local = LocalCluster(cluster_dir, env=env)
    local.start(agents=AGENTS, slots=SLOTS)
    yield local
    local.stop()


@pytest.fixture
def scheduler(cluster: LocalCluster) -> Iterator[Scheduler]:
    with Scheduler(cluster.url, token=cluster.admin_token) as s:
        yield s
