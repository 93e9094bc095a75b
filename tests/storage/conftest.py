"""Fixtures for the storage contract suites: one store per adapter, on the real servers, fresh per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient

from hpcburst.emulators import Azurite, CosmosServer
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.queue.azure import AzureWorkQueue
from hpcburst.storage.queue.port import WorkQueue
from hpcburst.storage.state.cosmos import CosmosStateStore
from hpcburst.storage.state.memory import MemoryStateStore
from hpcburst.storage.state.port import StateStore
from hpcburst.storage.state.sqlite import SqliteStateStore

STATE_ADAPTERS = ["sqlite", "cosmos", "memory"]
QUEUE_ADAPTERS = ["azurite"]


@pytest.fixture(params=STATE_ADAPTERS)
def state_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """A fresh, empty state store of each kind (a new SQLite file / Cosmos database / memory)."""
    store: StateStore
    if request.param == "sqlite":
        store = SqliteStateStore(tmp_path / "state.db")
    elif request.param == "memory":
        store = MemoryStateStore()
    elif request.param == "cosmos":
        yield from fresh_cosmos_store(request.getfixturevalue("cosmos_server"))
        return
    else:  # pragma: no cover - guarded by STATE_ADAPTERS
        raise AssertionError(request.param)
    yield store
    store.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def blob_store(azurite: Azurite) -> Iterator[AzureBlobStore]:
    store = AzureBlobStore.from_connection_string(azurite.connection_string)
    yield store
    store.close()


@pytest.fixture(params=QUEUE_ADAPTERS)
def work_queue(
    request: pytest.FixtureRequest, azurite: Azurite, blob_store: AzureBlobStore
) -> Iterator[WorkQueue]:
    """A work queue of each kind, with a blob store for claim checks."""
    queue = AzureWorkQueue.from_connection_string(azurite.connection_string, blob_store=blob_store)
    yield queue
    queue.close()


@pytest.fixture
def queue_name(work_queue: WorkQueue) -> str:
    """A fresh queue (Azurite lives for the whole session, so every test takes its own)."""
    name = unique("q")
    work_queue.ensure(name)
    return name


def fresh_cosmos_store(server: CosmosServer) -> Iterator[StateStore]:
    """A store on its own database of the session's Cosmos server, dropped afterwards."""
    database = unique("db")
    store = CosmosStateStore(server.endpoint, server.key, database, verify_tls=False, emulator=True)
    yield store
    store.close()
    with CosmosClient(server.endpoint, credential=server.key, connection_verify=False) as client:
        client.delete_database(database)
