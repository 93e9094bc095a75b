"""Storage grants from the services: per-blob and short-lived, only successes cached, and bounded output reads.

On SQLite and Azurite; ``Outage`` wraps the real blob store and fails signing while storage is "down"
(what fetching a user delegation key does when storage is unreachable).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from principals import ADMIN, joiner, node_credential

from hpcburst import constants as c
from hpcburst.domain.job import JobSpec
from hpcburst.domain.protocol import LeaseRequest, RegisterRequest, ReportRequest, TaskResult
from hpcburst.emulators import Azurite
from hpcburst.errors import StorageUnavailable
from hpcburst.services.orchestrations import RecordingOrchestrations
from hpcburst.services.root import Services, build
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.blob.sas_url import sas_expiry, sas_permissions
from hpcburst.storage.state.sqlite import SqliteStateStore


class Outage:
    """The real blob store, except that signing fails while ``down`` (and says how often it was asked)."""

    def __init__(self, inner: AzureBlobStore) -> None:
        self.inner, self.down, self.signed = inner, False, 0

    def sas_url(
        self, container: str, name: str | None = None, permission: str = "r", expiry: Any = None
    ) -> str:
        if self.down:
            raise StorageUnavailable("storage unreachable while fetching a delegation key")
        self.signed += 1
        return self.inner.sas_url(container, name, permission, expiry or timedelta(hours=1))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def blobs(azurite: Azurite) -> Outage:
    return Outage(AzureBlobStore.from_connection_string(azurite.connection_string))


@pytest.fixture
def services(tmp_path: Path, blobs: Outage) -> Iterator[Services]:
    built = build(SqliteStateStore(tmp_path / "state.db"), blobs=blobs, max_output_bytes=10)  # type: ignore[arg-type]
    yield built
    built.close()


def submit(s: Services, **task: Any) -> str:
    spec = JobSpec.model_validate({"tasks": [{"command": "x *", "sweep": {"start": 1, "end": 1}, **task}]})
    return asyncio.run(s.jobs.submit(spec, RecordingOrchestrations(), owner="tester")).id


def lease(s: Services, node: str = "n1") -> Any:
    return asyncio.run(s.lease.lease(LeaseRequest(node=node, free_slots=1)))


def test_a_lease_carries_per_blob_grants_expiring_a_little_after_its_max_run_time(services: Services) -> None:
    services.nodes.register(RegisterRequest(node="n1", slots=1), joiner())
    submit(
        services,
        max_run_time=600,
        input_files=[{"blob": "hpc-data/in/*.bin", "path": "in.bin"}],
        output_files=[
            {"pattern": "result.txt", "blob": "hpc-output/res/*.txt"},
            {"pattern": "logs/^*.log", "blob": "hpc-output/logs-*"},  # glob: granted on request
            {"pattern": "evil.zip", "blob": "hpc-packages/solver/sha256-*.zip"},  # never granted (a plain
            # ref there is refused at submit already; a starred one is checked once substituted)
        ],
    )
    answer = lease(services)
    (leased,) = answer.leases
    assert {ref: sas_permissions(url) for ref, url in leased.grants.items()} == {
        "hpc-data/in/1.bin": "r",
        "hpc-output/res/1.txt": "cw",
    }
    expiry = sas_expiry(leased.grants["hpc-data/in/1.bin"])
    assert expiry is not None and 600 + 25 * 60 < expiry - time.time() <= 600 + 31 * 60
    assert answer.segment is not None and answer.segment.blob.startswith("nodes/default/n1/")
    assert sas_permissions(answer.segment.url) == "cw"
    assert answer.packages_url and sas_permissions(answer.packages_url) == "rl"


def test_a_transient_signing_error_is_not_cached(services: Services, blobs: Outage) -> None:
    blobs.down = True
    first = services.nodes.register(RegisterRequest(node="n1", slots=1), joiner())
    assert first.segment is None and first.packages_url is None  # the answer still goes out
    submit(services, input_files=[{"blob": "hpc-data/in.bin", "path": "in.bin"}])
    assert lease(services).leases[0].grants == {}
    blobs.down = False  # storage is back: the very next answers carry grants
    again = services.nodes.register(RegisterRequest(node="n1", slots=1), node_credential("n1"))
    assert again.segment is not None and again.packages_url is not None
    submit(services, input_files=[{"blob": "hpc-data/in.bin", "path": "in.bin"}])
    assert set(lease(services).leases[0].grants) == {"hpc-data/in.bin"}


def test_a_shared_inputs_grant_is_signed_once_not_per_index(services: Services, blobs: Outage) -> None:
    services.nodes.register(RegisterRequest(node="n1", slots=1), joiner())
    submit(
        services, sweep={"start": 1, "end": 50}, input_files=[{"blob": "hpc-data/shared.bin", "path": "s"}]
    )
    signed = blobs.signed
    leases = asyncio.run(services.lease.lease(LeaseRequest(node="n1", free_slots=50))).leases
    assert len(leases) == 50 and len({lease.grants["hpc-data/shared.bin"] for lease in leases}) == 1
    assert blobs.signed - signed <= 3  # the input once, a segment, the packages grant


def test_output_is_served_in_bounded_pages_read_as_ranges(services: Services, blobs: Outage) -> None:
    services.nodes.register(RegisterRequest(node="n1", slots=1), joiner())
    job = submit(services)
    (leased,) = lease(services).leases
    blob = "nodes/default/n1/big.seg"
    blobs.inner.ensure_container(c.BLOB_OUTPUT)
    blobs.inner.put(c.BLOB_OUTPUT, blob, b"xx" + b"0123456789abcdefghij" + b"yy")
    ref = {"blob": blob, "offset": 2, "length": 20}
    result = TaskResult(task=leased.task, attempt=leased.attempt, exit_code=0, stdout=ref)  # type: ignore[arg-type]
    services.report.report(ReportRequest(node="n1", results=[result]))
    first = services.results.output(job, "1", "stdout", ADMIN)  # the cap here is 10 bytes
    assert (first.data, first.size, first.truncated) == (b"0123456789", 20, True)
    rest = services.results.output(job, "1", "stdout", ADMIN, offset=10, length=100)
    assert (rest.data, rest.truncated) == (b"abcdefghij", False)
    assert services.results.output(job, "1", "stdout", ADMIN, offset=18).data == b"ij"
