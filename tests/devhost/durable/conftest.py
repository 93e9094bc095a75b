"""Fixtures for the Durable engine tests."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "durable.sqlite"


@pytest.fixture
def run():
    """Run a coroutine to completion on a fresh event loop."""
    return asyncio.run


def pytest_collection_modifyitems(items):
    # The SDK warns when an event arrives before its wait (it buffers it); that is the behaviour under test.
    for item in items:
        if "devhost/durable" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore:Potential duplicate Task completion"))
