"""Fixtures for data-movement tests: a blob store on the session's Azurite and a fresh container."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hpcburst.emulators import Azurite
from hpcburst.storage.blob.azure import AzureBlobStore


@pytest.fixture
def store(azurite: Azurite) -> Iterator[AzureBlobStore]:
    s = AzureBlobStore.from_connection_string(azurite.connection_string)
    yield s
    s.close()


@pytest.fixture
def container(store: AzureBlobStore) -> str:
    name = f"d{uuid.uuid4().hex[:12]}"
    store.ensure_container(name)
    return name


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, int], Path]:
    """Write ``size`` random bytes to tmp_path/name."""

    def make(name: str, size: int) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        return path

    return make
