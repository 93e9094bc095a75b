"""One local cluster (Azurite, the runtime on function_app.py, one real agent) shared by the threat tests,
plus credentials of every kind: an admin, two users, a node's credential, a pool's join secret."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from security_support import api

from hpcburst import constants as c
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster


@dataclass
class Secrets:
    admin: str
    alice: str
    bob: str
    join: str  # pool "default"
    node: str  # the credential of node "intruder-free" (registered by the test, not a running agent)


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    # Outside pytest's 0700 temp tree: the agent runs tasks as an unprivileged account, which must reach it.
    path = Path(tempfile.mkdtemp(prefix="hpcburst-security-"))
    path.chmod(0o711)
    env = {c.ENV_HEARTBEAT_INTERVAL: "0.5", c.ENV_NODE_TIMEOUT: "3"}
    local = LocalCluster(path, env=env)
    local.start(agents=1, slots=2)
    yield local
    local.stop()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def secrets(cluster: LocalCluster) -> Secrets:
    with api(cluster, cluster.admin_token) as admin:
        alice = admin.post("/users", json={"name": "alice"}).json()["token"]
        bob = admin.post("/users", json={"name": "bob"}).json()["token"]
    join = cluster.access().join_token("default")
    with api(cluster, join) as joining:
        node = joining.post("/agent/register", json={"node": "side-node", "pool": "default", "slots": 1})
    assert node.status_code == 200, node.text
    return Secrets(cluster.admin_token, alice, bob, join, node.json()["credential"])


@pytest.fixture
def as_alice(cluster: LocalCluster, secrets: Secrets) -> Iterator[Scheduler]:
    with Scheduler(cluster.url, token=secrets.alice) as s:
        yield s
