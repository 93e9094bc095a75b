"""The BlobStore contract: the Azure adapter on Azurite and the in-memory fake pass the same tests.

Every blob adapter must pass these: CRUD, metadata, ranges, block staging (uncommitted vs
committed), listing by prefix. SAS grants that allow exactly what they say are checked on the
Azure adapter (the fake's URLs are served by nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from hpcburst.emulators import Azurite
from hpcburst.errors import ConfigError, Conflict, Forbidden, InvalidSpec, NotFound
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.blob.memory import MemoryBlobStore
from hpcburst.storage.blob.port import BlobStore

BLOB_ADAPTERS = ["azurite", "memory"]


@pytest.fixture
def azure_store(azurite: Azurite) -> Iterator[AzureBlobStore]:
    s = AzureBlobStore.from_connection_string(azurite.connection_string)
    yield s
    s.close()


@pytest.fixture(params=BLOB_ADAPTERS)
def store(request: pytest.FixtureRequest) -> BlobStore:
    if request.param == "memory":
        return MemoryBlobStore()
    return request.getfixturevalue("azure_store")


@pytest.fixture
def container(store: BlobStore) -> str:
    name = f"c{uuid.uuid4().hex[:12]}"
    store.ensure_container(name)
    return name


@pytest.fixture
def azure_container(azure_store: AzureBlobStore) -> str:
    name = f"c{uuid.uuid4().hex[:12]}"
    azure_store.ensure_container(name)
    return name


def test_put_get_properties_delete(store: BlobStore, container: str) -> None:
    info = store.put(container, "a/b.txt", b"hello")
    assert info.size == 5 and info.etag
    assert store.get(container, "a/b.txt") == b"hello"
    props = store.properties(container, "a/b.txt")
    assert (props.name, props.size, props.etag) == ("a/b.txt", 5, info.etag)
    assert props.last_modified is not None
    store.delete(container, "a/b.txt")
    with pytest.raises(NotFound):
        store.get(container, "a/b.txt")


def test_missing_blob_is_not_found_everywhere(store: BlobStore, container: str) -> None:
    for call in (
        lambda: store.get(container, "nope"),
        lambda: store.properties(container, "nope"),
        lambda: store.download_range(container, "nope", 0, 10),
        lambda: store.delete(container, "nope"),
        lambda: store.get("no-such-container", "nope"),
    ):
        with pytest.raises(NotFound):
            call()


def test_put_if_none_match_conflicts_when_blob_exists(store: BlobStore, container: str) -> None:
    store.put(container, "once", b"1", if_none_match=True)
    with pytest.raises(Conflict):
        store.put(container, "once", b"2", if_none_match=True)
    assert store.get(container, "once") == b"1"
    store.put(container, "once", b"3")  # without the flag, put overwrites
    assert store.get(container, "once") == b"3"


def test_ensure_container_is_idempotent(store: BlobStore, container: str) -> None:
    store.ensure_container(container)
    store.ensure_container(container)


def test_metadata_is_stored_and_replaced(store: BlobStore, container: str) -> None:
    store.put(container, "m", b"x", metadata={"sha256": "abc", "blocks": "3"})
    assert store.properties(container, "m").metadata == {"sha256": "abc", "blocks": "3"}
    store.set_metadata(container, "m", {"sha256": "def"})
    assert store.properties(container, "m").metadata == {"sha256": "def"}
    assert store.get(container, "m") == b"x"  # metadata writes leave content alone


def test_metadata_keys_read_back_lowercased(store: BlobStore, container: str) -> None:
    assert store.put(container, "case", b"x", metadata={"Hpcburst_Size": "1"}).metadata == {
        "hpcburst_size": "1"
    }
    assert store.properties(container, "case").metadata == {"hpcburst_size": "1"}
    assert [b.metadata for b in store.list(container, "case")] == [{"hpcburst_size": "1"}]


def test_download_range_returns_exactly_the_range(store: BlobStore, container: str) -> None:
    data = bytes(range(256)) * 40
    store.put(container, "r", data)
    assert store.download_range(container, "r", 0, 10) == data[:10]
    assert store.download_range(container, "r", 1000, 3000) == data[1000:4000]
    assert store.download_range(container, "r", len(data) - 5, 5) == data[-5:]
    assert store.download_range(container, "r", 7, 0) == b""


def test_staged_blocks_are_uncommitted_until_committed(store: BlobStore, container: str) -> None:
    store.stage_block(container, "big", "0000-aa", b"first-")
    store.stage_block(container, "big", "0001-bb", b"second")
    staged = store.uncommitted_blocks(container, "big")
    assert {(b.id, b.size) for b in staged} == {("0000-aa", 6), ("0001-bb", 6)}
    assert store.committed_blocks(container, "big") == []
    with pytest.raises(NotFound):
        store.get(container, "big")

    info = store.commit_blocks(container, "big", ["0000-aa", "0001-bb"], metadata={"k": "v"})
    assert info.size == 12 and info.metadata == {"k": "v"}
    assert store.get(container, "big") == b"first-second"
    assert [(b.id, b.size) for b in store.committed_blocks(container, "big")] == [
        ("0000-aa", 6),
        ("0001-bb", 6),
    ]
    assert store.uncommitted_blocks(container, "big") == []


def test_commit_reuses_committed_blocks_beside_new_ones(store: BlobStore, container: str) -> None:
    store.stage_block(container, "d", "a", b"AAA")
    store.stage_block(container, "d", "b", b"BBB")
    store.commit_blocks(container, "d", ["a", "b"])
    store.stage_block(container, "d", "c", b"CCC")
    store.commit_blocks(container, "d", ["a", "c"])  # "a" was committed before, "c" just staged
    assert store.get(container, "d") == b"AAACCC"
    assert [b.id for b in store.committed_blocks(container, "d")] == ["a", "c"]


def test_block_lists_of_a_missing_blob_are_empty(store: BlobStore, container: str) -> None:
    assert store.uncommitted_blocks(container, "never") == []
    assert store.committed_blocks(container, "never") == []


def test_block_ids_of_different_lengths_share_one_blob(store: BlobStore, container: str) -> None:
    ids = ["x", "y" * 60, "0042-" + "f" * 20]
    for i, block_id in enumerate(ids):
        store.stage_block(container, "mixed", block_id, bytes([65 + i]))
    store.commit_blocks(container, "mixed", ids)
    assert store.get(container, "mixed") == b"ABC"
    assert [b.id for b in store.committed_blocks(container, "mixed")] == ids


def test_block_id_too_long_is_invalid(store: BlobStore, container: str) -> None:
    with pytest.raises(InvalidSpec, match="block id"):
        store.stage_block(container, "x", "z" * 61, b"1")


def test_list_by_prefix(store: BlobStore, container: str) -> None:
    for name in ("in/a", "in/b", "out/a", "inner"):
        store.put(container, name, name.encode(), metadata={"tag": "t"})
    assert sorted(b.name for b in store.list(container, "in/")) == ["in/a", "in/b"]
    assert sorted(b.name for b in store.list(container, "in")) == ["in/a", "in/b", "inner"]
    assert len(list(store.list(container))) == 4
    assert all(b.metadata == {"tag": "t"} and b.size > 0 for b in store.list(container))
    assert list(store.list("no-such-container-here")) == []


def test_read_only_sas_url_reads_and_denies_writes(azure_store: AzureBlobStore, azure_container: str) -> None:
    azure_store.put(azure_container, "shared.txt", b"rates")
    url = azure_store.sas_url(azure_container, "shared.txt", permission="r", expiry=timedelta(minutes=5))
    assert requests.get(url, timeout=10).content == b"rates"
    denied = requests.put(url, data=b"evil", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert denied.status_code == 403
    assert azure_store.get(azure_container, "shared.txt") == b"rates"


def test_container_sas_url_grants_its_permissions(azure_store: AzureBlobStore, azure_container: str) -> None:
    url = azure_store.sas_url(azure_container, permission="rw")
    base, token = url.split("?", 1)
    put = requests.put(
        f"{base}/new.txt?{token}", data=b"ok", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10
    )
    assert put.status_code == 201
    assert azure_store.get(azure_container, "new.txt") == b"ok"


def test_a_container_sas_store_works_without_the_key_but_cannot_mint_grants(
    azure_store: AzureBlobStore, azure_container: str
) -> None:
    url = azure_store.sas_url(azure_container, permission="rl", expiry=timedelta(minutes=10))
    reader = AzureBlobStore.from_sas(azure_store.account_url, url.split("?", 1)[1])
    azure_store.put(azure_container, "r.txt", b"1")
    assert reader.get(azure_container, "r.txt") == b"1"
    assert [b.name for b in reader.list(azure_container)] == ["r.txt"]
    with pytest.raises(Forbidden):
        reader.put(azure_container, "w.txt", b"2")
    with pytest.raises(ConfigError, match="cannot mint"):
        reader.sas_url(azure_container, "r.txt")
    reader.close()


def test_the_azure_adapter_mints_no_account_wide_grant(azure_store: AzureBlobStore) -> None:
    assert not hasattr(azure_store, "account_sas")


def test_committing_an_unknown_block_is_invalid(store: BlobStore, container: str) -> None:
    store.stage_block(container, "u", "known", b"1")
    with pytest.raises(InvalidSpec):
        store.commit_blocks(container, "u", ["known", "never-staged"])
