"""The factory builds the adapters the settings name: SQLite by default, Cosmos and Storage on request."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from hpcburst import constants as c
from hpcburst.emulators import Azurite, CosmosServer
from hpcburst.errors import ConfigError
from hpcburst.settings import Settings
from hpcburst.storage.factory import build_blob_store, build_state_store, build_work_queue
from hpcburst.storage.queue.azure import AzureWorkQueue
from hpcburst.storage.state.cosmos import CosmosStateStore
from hpcburst.storage.state.sqlite import SqliteStateStore

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def test_the_default_state_store_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    store = build_state_store(Settings.from_env({c.ENV_DATA_DIR: str(tmp_path)}))
    assert isinstance(store, SqliteStateStore)
    store.upsert(c.JOBS, "j", "j", {"state": "Queued"})
    assert (tmp_path / "state.db").exists()
    store.close()


def test_cosmos_settings_build_a_cosmos_store(cosmos_server: CosmosServer) -> None:
    env = {
        c.ENV_STATE_BACKEND: "cosmos",
        c.ENV_COSMOS_ENDPOINT: cosmos_server.endpoint,
        c.ENV_COSMOS_KEY: cosmos_server.key,
        c.ENV_COSMOS_DATABASE: "factorytest",
        c.ENV_COSMOS_VERIFY_TLS: "false",
        c.ENV_COSMOS_EMULATOR: "1",
    }
    store = build_state_store(Settings.from_env(env))
    assert isinstance(store, CosmosStateStore)
    assert store.upsert(c.NODES, "pool", "n1", {"state": "Online"}).etag
    store.close()


def test_a_connection_string_builds_blob_store_and_queue(azurite: Azurite) -> None:
    settings = Settings.from_env({c.ENV_STORAGE_CONNECTION: azurite.connection_string})
    blobs = build_blob_store(settings)
    queue = build_work_queue(settings, blobs)
    name = f"factory-{uuid.uuid4().hex[:8]}"
    queue.send(name, "x" * (c.QUEUE_INLINE_LIMIT + 1))
    [message] = queue.receive(name)
    assert len(message.body) == c.QUEUE_INLINE_LIMIT + 1
    queue.delete(message)


def test_an_account_url_uses_managed_identity_per_service() -> None:
    settings = Settings.from_env({c.ENV_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net"})
    queue = build_work_queue(settings, None)
    assert isinstance(queue, AzureWorkQueue)
    assert queue.account_url == "https://acct.queue.core.windows.net"
    assert build_blob_store(settings).account_url == "https://acct.blob.core.windows.net"


def test_no_storage_settings_name_the_variables_to_set() -> None:
    with pytest.raises(ConfigError, match=c.ENV_STORAGE_CONNECTION):
        build_blob_store(Settings.from_env({}))
    with pytest.raises(ConfigError, match=c.ENV_STORAGE_ACCOUNT_URL):
        build_work_queue(Settings.from_env({}), None)
