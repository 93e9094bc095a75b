"""Fixtures for the provisioner contract suite: one harness per adapter (the in-memory fake, the Azure
adapter talking to the fake ARM through azure-core's transport seam, and the local provisioner starting
real agents that point at a dead cluster URL), sharing a fake clock.

Capacity and throttling are points of the adapters behind a cloud API (``cloud_harness``: the fake and
Azure); the local provisioner starts processes on this machine and has neither."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_arm import Clock
from provisioner_support import (
    ADAPTERS,
    Harness,
    azure_harness,
    local_provisioner,
    memory_harness,
    stop_everything,
)

from hpcburst.provisioners.local import LocalProvisioner


@pytest.fixture
def local_root() -> Iterator[Path]:
    """Outside pytest's temp tree (0700 directories), as agents running as root need (see task_root)."""
    path = Path(tempfile.mkdtemp(prefix="hpcburst-local-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def local_harness(clock: Clock, root: Path) -> Harness:
    adapter = local_provisioner(root, clock=lambda: clock.now)

    def not_a_cloud_api() -> None:
        raise AssertionError("capacity and throttling tests take cloud_harness, which has no local adapter")

    return Harness(adapter, clock, not_a_cloud_api, not_a_cloud_api, adapter.evict)


@pytest.fixture(params=["memory", "azure"])
def cloud_harness(request: pytest.FixtureRequest) -> Harness:
    """The adapters behind a cloud API, which can run out of capacity and throttle."""
    clock = Clock()
    return memory_harness(clock) if request.param == "memory" else azure_harness(clock)


@pytest.fixture(params=ADAPTERS)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    clock = Clock()
    if request.param != "local":
        yield memory_harness(clock) if request.param == "memory" else azure_harness(clock)
        return
    found = local_harness(clock, request.getfixturevalue("local_root"))
    yield found
    assert isinstance(found.provisioner, LocalProvisioner)
    stop_everything(found.provisioner)
