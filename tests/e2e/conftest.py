"""One local cluster per e2e module: Azurite, the runtime (devhost on function_app.py), two agents x 2 slots.

The same code as `hpcburst up` (``LocalCluster``): its agents hold no storage key, only the service's grants.
Heartbeats are fast and the node timeout short so a killed agent's work moves on in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hpcburst import constants as c
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster

AGENTS, SLOTS = 2, 2
MAX_OUTPUT = 1024 * 1024


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    # A 1 MiB page of output per request (default 8 MiB) so paging is exercised with small outputs.
    env = {c.ENV_HEARTBEAT_INTERVAL: "0.5", c.ENV_NODE_TIMEOUT: "3", c.ENV_MAX_OUTPUT_BYTES: str(MAX_OUTPUT)}
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), env=env)
    local.start(agents=AGENTS, slots=SLOTS)
    yield local
    local.stop()


@pytest.fixture
def scheduler(cluster: LocalCluster) -> Iterator[Scheduler]:
    with Scheduler(cluster.url, token=cluster.admin_token) as s:
        yield s
