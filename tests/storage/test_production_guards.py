"""In Azure the state lives in Cosmos DB, read by point reads; the emulator's quirk stays behind a test setting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.cosmos import CosmosClient

from hpcburst import constants as c
from hpcburst.emulators import CosmosServer
from hpcburst.errors import ConfigError, NotFound, StorageUnavailable
from hpcburst.settings import Settings
from hpcburst.storage.state.cosmos import CosmosStateStore

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def test_sqlite_is_refused_in_azure_with_one_line_naming_the_fix() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({c.ENV_AZURE_INSTANCE: "a1b2c3"})
    message = str(refused.value)
    assert "\n" not in message
    assert c.ENV_STATE_BACKEND in message and "cosmos" in message and c.ENV_COSMOS_ENDPOINT in message


def test_cosmos_is_accepted_in_azure() -> None:
    settings = Settings.from_env(
        {
            c.ENV_AZURE_INSTANCE: "a1b2c3",
            c.ENV_STATE_BACKEND: "cosmos",
            c.ENV_COSMOS_ENDPOINT: "https://acct.documents.azure.com:443/",
        }
    )
    assert settings.state_backend == "cosmos"
    assert settings.cosmos_emulator is False


def test_sqlite_stays_the_default_outside_azure() -> None:
    assert Settings.from_env({}).state_backend == "sqlite"


def test_the_emulator_workaround_is_off_unless_a_test_asks_for_it() -> None:
    assert Settings.from_env({}).cosmos_emulator is False
    assert Settings.from_env({c.ENV_COSMOS_EMULATOR: "1"}).cosmos_emulator is True


def test_the_host_storage_account_name_is_the_apps_storage_account_too() -> None:
    settings = Settings.from_env({c.ENV_STORAGE_ACCOUNT_NAME: "hpcst"})
    assert settings.storage_account_url == "https://hpcst.blob.core.windows.net"
    assert settings.storage_connection is None


@pytest.fixture
def database(cosmos_server: CosmosServer) -> Iterator[str]:
    name = f"guards-{uuid.uuid4().hex[:8]}"
    yield name
    with CosmosClient(
        cosmos_server.endpoint, credential=cosmos_server.key, connection_verify=False
    ) as client:
        client.delete_database(name)


def test_get_is_a_point_read_that_finds_a_stored_item(cosmos_server: CosmosServer, database: str) -> None:
    store = CosmosStateStore(cosmos_server.endpoint, cosmos_server.key, database, verify_tls=False)
    store.upsert(c.JOBS, "j1", "j1", {"state": "Queued"})
    assert store.get(c.JOBS, "j1", "j1").body == {"state": "Queued"}
    store.close()


def test_without_the_workaround_the_emulators_500_for_a_missing_item_is_not_taken_for_a_404(
    cosmos_server: CosmosServer, database: str
) -> None:
    store = CosmosStateStore(cosmos_server.endpoint, cosmos_server.key, database, verify_tls=False)
    with pytest.raises(StorageUnavailable):
        store.get(c.JOBS, "nobody", "nobody")
    store.close()


def test_with_the_workaround_a_missing_item_is_not_found(cosmos_server: CosmosServer, database: str) -> None:
    store = CosmosStateStore(
        cosmos_server.endpoint, cosmos_server.key, database, verify_tls=False, emulator=True
    )
    with pytest.raises(NotFound):
        store.get(c.JOBS, "nobody", "nobody")
    store.close()
