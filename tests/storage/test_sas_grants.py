"""Grants reach exactly what they name, enforced by storage itself (Azurite): per-blob SAS clients and a
read+list container grant, each tried beyond its scope."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from hpcburst.errors import Forbidden
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.blob.sas_blob import SasClients
from hpcburst.storage.blob.sas_url import sas_expiry, sas_permissions

HOUR = timedelta(hours=1)


@pytest.fixture
def clients() -> Iterator[SasClients]:
    made = SasClients()
    yield made
    made.close()


@pytest.fixture
def names(blob_store: AzureBlobStore) -> dict[str, str]:
    """Fresh containers standing for hpc-data, hpc-output and hpc-packages (Azurite lives all session)."""
    suffix = uuid.uuid4().hex[:8]
    made = {kind: f"{kind}-{suffix}" for kind in ("data", "output", "packages")}
    for container in made.values():
        blob_store.ensure_container(container)
    blob_store.put(made["data"], "in.txt", b"input")
    blob_store.put(made["data"], "other.txt", b"not granted")
    blob_store.put(made["output"], "in.txt", b"same name, other container")
    blob_store.put(made["packages"], "solver/v000001.json", b"{}")
    return made


def _token(url: str) -> str:
    return url.split("?", 1)[1]


def test_a_read_grant_reads_its_blob_and_nothing_more(
    blob_store: AzureBlobStore, clients: SasClients, names: dict[str, str]
) -> None:
    data, out = names["data"], names["output"]
    url = blob_store.sas_url(data, "in.txt", "r", HOUR)
    assert sas_permissions(url) == "r" and sas_expiry(url) is not None
    assert clients.blob(url).get() == b"input"
    elsewhere = AzureBlobStore.from_sas(blob_store.account_url, _token(url))
    refused: list[Callable[[], object]] = [
        lambda: clients.blob(url).put(b"overwritten"),
        lambda: clients.blob(url).delete(),
        lambda: list(elsewhere.list(data)),
        lambda: elsewhere.get(data, "other.txt"),
        lambda: elsewhere.get(out, "in.txt"),
    ]
    for attempt in refused:
        with pytest.raises(Forbidden):
            attempt()
    assert blob_store.get(data, "in.txt") == b"input"


def test_a_write_grant_creates_and_writes_its_blob_but_cannot_read_list_or_delete(
    blob_store: AzureBlobStore, clients: SasClients, names: dict[str, str]
) -> None:
    out = names["output"]
    url = blob_store.sas_url(out, "nodes/p/n1/a.seg", "cw", HOUR)
    blob = clients.blob(url)
    blob.put(b"segment")
    blob.stage_block("b1", b"block")
    blob.commit_blocks(["b1"])
    assert blob_store.get(out, "nodes/p/n1/a.seg") == b"block"
    elsewhere = AzureBlobStore.from_sas(blob_store.account_url, _token(url))
    refused: list[Callable[[], object]] = [
        blob.get,
        blob.properties,
        blob.delete,
        lambda: blob.block_list(uncommitted=False),
        lambda: list(elsewhere.list(out)),
        lambda: elsewhere.put(out, "nodes/p/n1/b.seg", b"another name"),
        lambda: elsewhere.put(out, "nodes/p/n2/a.seg", b"another node"),
        lambda: elsewhere.put(names["data"], "nodes/p/n1/a.seg", b"another container"),
    ]
    for attempt in refused:
        with pytest.raises(Forbidden):
            attempt()


def test_the_packages_grant_reads_and_lists_its_container_only(
    blob_store: AzureBlobStore, clients: SasClients, names: dict[str, str]
) -> None:
    packages = names["packages"]
    reader = clients.container_store(blob_store.sas_url(packages, None, "rl", HOUR))
    assert [b.name for b in reader.list(packages)] == ["solver/v000001.json"]
    assert reader.get(packages, "solver/v000001.json") == b"{}"
    refused: list[Callable[[], object]] = [
        lambda: reader.put(packages, "solver/v000002.json", b"{}"),
        lambda: reader.put(packages, "solver/v000001.json", b"replaced"),
        lambda: reader.delete(packages, "solver/v000001.json"),
        lambda: reader.get(names["data"], "in.txt"),
        lambda: list(reader.list(names["data"])),
    ]
    for attempt in refused:
        with pytest.raises(Forbidden):
            attempt()
    assert blob_store.get(packages, "solver/v000001.json") == b"{}"
