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
