"""Fixtures: services on a SQLite file installed as the process's composition root; a Durable DB path."""

from __future__ import annotations

import pytest

from hpcburst.services import root
from hpcburst.storage.state.sqlite import SqliteStateStore


@pytest.fixture
def services(tmp_path):
    built = root.build(SqliteStateStore(tmp_path / "state.db"))
    root.install(built)
    yield built
    root.reset()


@pytest.fixture
def durable_db(tmp_path):
    return str(tmp_path / "durable.db")
