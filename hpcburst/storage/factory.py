"""Build the storage adapters a process runs on from its ``Settings`` (used by composition roots only).

Embedded default: SQLite state + Azurite (blob, queue) by connection string. In Azure: Cosmos DB
state (account key, or managed identity through azure-identity) and a Storage account by
connection string or by account URL + DefaultAzureCredential.
"""

from __future__ import annotations

from typing import Any

from hpcburst import constants as c
from hpcburst.errors import ConfigError
from hpcburst.settings import Settings
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.queue.port import WorkQueue
from hpcburst.storage.state.port import StateStore


def _default_credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def build_state_store(settings: Settings) -> StateStore:
    if settings.state_backend == "cosmos":
        from hpcburst.storage.state.cosmos import CosmosStateStore

        if not settings.cosmos_endpoint:
            raise ConfigError(f"{c.ENV_STATE_BACKEND}=cosmos needs {c.ENV_COSMOS_ENDPOINT}")
        credential = settings.cosmos_key or _default_credential()
        return CosmosStateStore(
            settings.cosmos_endpoint,
            credential,
            settings.cosmos_database,
            verify_tls=settings.cosmos_verify_tls,
            emulator=settings.cosmos_emulator,
        )
    if settings.state_backend == "sqlite":
        from hpcburst.storage.state.sqlite import SqliteStateStore

        return SqliteStateStore(settings.sqlite_path)
    raise ConfigError(f"{c.ENV_STATE_BACKEND}={settings.state_backend!r}: use 'sqlite' or 'cosmos'")


def _storage_missing() -> ConfigError:
    return ConfigError(
        f"no storage account configured: set {c.ENV_STORAGE_CONNECTION} (a connection string) "
        f"or {c.ENV_STORAGE_ACCOUNT_URL} (an account URL, used with managed identity)"
    )


def _service_url(account_url: str, service: str) -> str:
    """``https://acct.blob.core.windows.net`` -> the queue endpoint, and back; other URLs as given."""
    url = account_url.rstrip("/")
    for other in ("blob", "queue"):
        url = url.replace(f".{other}.core.", f".{service}.core.")
    return url


def build_blob_store(settings: Settings) -> BlobStore:
    from hpcburst.storage.blob.azure import AzureBlobStore

    if settings.storage_connection:
        return AzureBlobStore.from_connection_string(settings.storage_connection)
    if settings.storage_account_url:
        return AzureBlobStore.from_account_url(
            _service_url(settings.storage_account_url, "blob"), credential=_default_credential()
        )
    raise _storage_missing()


def build_work_queue(settings: Settings, blob_store: BlobStore | None) -> WorkQueue:
    """The work queue; ``blob_store`` carries claim-check payloads (None: large messages are refused)."""
    from hpcburst.storage.queue.azure import AzureWorkQueue

    if settings.storage_connection:
        return AzureWorkQueue.from_connection_string(settings.storage_connection, blob_store=blob_store)
    if settings.storage_account_url:
        return AzureWorkQueue.from_account_url(
            _service_url(settings.storage_account_url, "queue"),
            credential=_default_credential(),
            blob_store=blob_store,
        )
    raise _storage_missing()
