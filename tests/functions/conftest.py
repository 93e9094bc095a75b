"""The real function app on the local runtime (in this process, its own event loop thread), with Azurite.

Services are built by the app's composition root from the environment set here (SQLite under a
temporary folder, Azurite for queues and blobs), exactly as in a deployment.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from hpcburst import constants as c
from hpcburst.devhost.server import DevHost
from hpcburst.domain.identity import CredentialKind
from hpcburst.emulators import REPO_ROOT, free_port
from hpcburst.errors import Conflict
from hpcburst.services import root


class HostThread:
    def __init__(self, host: DevHost) -> None:
        self.host = host
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="devhost", daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.host.start(), self.loop).result(60)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.host.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, azurite) -> Iterator[str]:
    data = tmp_path_factory.mktemp("app")
    env = {
        c.ENV_STORAGE_CONNECTION: azurite.connection_string,
        c.ENV_DATA_DIR: str(data),
        c.ENV_STATE_BACKEND: "sqlite",
        c.ENV_SQLITE_PATH: str(data / "state.db"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    root.reset()
    port = free_port()
    host = HostThread(DevHost(REPO_ROOT, port=port, data_dir=data / "devhost", out=lambda _: None))
    host.start()
    try:
        yield host.host.base_url
    finally:
        host.stop()
        root.reset()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def admin_token(app_url: str) -> str:
    """An admin's token, made straight in the app's state store (as `hpcburst up` does)."""
    _, secret = root.services().identity.add_user("ada", admin=True)
    return secret


@pytest.fixture(scope="module")
def join_token(app_url: str) -> str:
    """A join secret of pool "fn"."""
    pools = root.services().pools
    pools.ensure("fn")
    return pools.join_token("fn")


@pytest.fixture
def http(app_url: str, admin_token: str) -> Iterator[httpx.Client]:
    """The API as the admin user."""
    with client_for(app_url, admin_token) as client:
        yield client


@pytest.fixture
def joining(app_url: str, join_token: str) -> Iterator[httpx.Client]:
    """The API as the holder of pool "fn"'s join secret (before registering)."""
    with client_for(app_url, join_token) as client:
        yield client


@pytest.fixture
def register(app_url: str, join_token: str) -> Iterator[Callable[..., httpx.Client]]:
    """``register(node, slots=2, cloud=False)``: registers a node in pool "fn" with the join secret; the API
    as that node."""
    clients: list[httpx.Client] = []

    def make(node: str, slots: int = 2, cloud: bool = False) -> httpx.Client:
        body = {"node": node, "pool": "fn", "slots": slots, "cloud": cloud}
        with client_for(app_url, join_token) as joining:
            response = joining.post("/agent/register", json=body)
        assert response.status_code == 200, response.text
        client = client_for(app_url, response.json()["credential"])
        client.registration = response.json()  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def as_user(app_url: str) -> Iterator[Callable[[str], httpx.Client]]:
    """``as_user(name)``: the API as ``name``, a user (not an admin) added on first use."""
    clients: list[httpx.Client] = []

    def make(name: str) -> httpx.Client:
        identity = root.services().identity
        try:
            _, token = identity.add_user(name)
        except Conflict:  # added by an earlier test of the module: a further token
            token, _ = identity.issue(CredentialKind.USER, name, description="test")
        clients.append(client_for(app_url, token))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def client_for(app_url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{app_url}/api", timeout=30, headers=headers)
