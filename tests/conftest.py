"""Shared fixtures: the real emulators (Azurite, the Cosmos server) started once per test session.

A missing emulator is a failure, not a skip: run `npm ci` first (the README's test command does).
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcburst.emulators import Azurite, CosmosServer, start_azurite, start_cosmos_server

warnings.filterwarnings("ignore", message="Unverified HTTPS request")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    emu = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def cosmos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosServer]:
    emu = start_cosmos_server(tmp_path_factory.mktemp("cosmos"), keep_alive=True)
    yield emu
    emu.stop()


@pytest.fixture
def storage_connection(azurite: Azurite) -> str:
    return azurite.connection_string


@pytest.fixture
def task_root() -> Iterator[Path]:
    """An agent's work root outside pytest's temp tree, whose directories are 0700: an agent running as root
    runs tasks as an unprivileged account, which must be able to pass through every directory above its own."""
    path = Path(tempfile.mkdtemp(prefix="hpcburst-agent-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)
