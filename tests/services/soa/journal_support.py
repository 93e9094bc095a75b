"""Stores for the journal's suite: one per adapter on the real servers, and wrappers that count or fail writes."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.cosmos import CosmosClient

from hpcburst.domain.soa.protocol import Fault, RequestItem, StoredResponse
from hpcburst.errors import StorageUnavailable
from hpcburst.storage.state.cosmos import CosmosStateStore
from hpcburst.storage.state.memory import MemoryStateStore
from hpcburst.storage.state.port import StateStore
from hpcburst.storage.state.sqlite import SqliteStateStore

ADAPTERS = ["memory", "sqlite", "cosmos"]
WRITES = ("create", "replace", "upsert", "delete", "batch")
READS = ("get", "query", "count")


def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """A fresh, empty store of the kind ``request.param`` names (the Cosmos one on its own database)."""
    if request.param == "memory":
        yield MemoryStateStore()
        return
    if request.param == "sqlite":
        store = SqliteStateStore(tmp_path / "state.db")
        yield store
        store.close()
        return
    server = request.getfixturevalue("cosmos_server")
    database = f"journal-{uuid.uuid4().hex[:8]}"
    cosmos = CosmosStateStore(server.endpoint, server.key, database, verify_tls=False)
    yield cosmos
    cosmos.close()
    with CosmosClient(server.endpoint, credential=server.key, connection_verify=False) as client:
        client.delete_database(database)


class Counting:
    """Delegates to a real store and counts each call by method name (``writes``/``reads`` sum them)."""

    def __init__(self, inner: StateStore) -> None:
        self.inner, self.calls = inner, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in WRITES + READS:
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted

    @property
    def writes(self) -> int:
        return sum(self.calls[name] for name in WRITES)

    @property
    def reads(self) -> int:
        return sum(self.calls[name] for name in READS)

    def reset(self) -> None:
        self.calls.clear()


class FailingWrites:
    """A store whose next write fails before it reaches the store (the store is unreachable)."""

    def __init__(self, inner: StateStore) -> None:
        self.inner, self.fail_next = inner, False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in WRITES:
            return method

        def maybe_failing(*args: Any, **kwargs: Any) -> Any:
            if self.fail_next:
                self.fail_next = False
                raise StorageUnavailable("the store is unreachable (test)")
            return method(*args, **kwargs)

        return maybe_failing


def requests(*ids: str, op: str = "square", payload: Any = None) -> list[RequestItem]:
    return [RequestItem(id=i, op=op, payload={"args": [i]} if payload is None else payload) for i in ids]


def answers(client: str, *ids: str, value: Any = "ok") -> list[StoredResponse]:
    return [StoredResponse(client_id=client, id=i, ok=True, value=value) for i in ids]


def fault(client: str, id: str) -> StoredResponse:
    why = Fault(type="ValueError", message="bad input", attempts=3, node="n1")
    return StoredResponse(client_id=client, id=id, ok=False, fault=why, user_data={"row": 7})


def numbered(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]
