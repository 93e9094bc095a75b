"""Fixtures for the storage contract suites: one store per adapter, on the real servers, fresh per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcburst.storage.state.port import StateStore
from hpcburst.storage.state.sqlite import SqliteStateStore

STATE_ADAPTERS = ["sqlite"]


@pytest.fixture(params=STATE_ADAPTERS)
def state_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """A fresh, empty state store of each kind (a new SQLite file / Cosmos database / memory)."""
    store: StateStore
    if request.param == "sqlite":
        store = SqliteStateStore(tmp_path / "state.db")
    else:  # pragma: no cover - guarded by STATE_ADAPTERS
        raise AssertionError(request.param)
    yield store
    store.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
