"""The agent's BlobStore over per-blob grants, on Azurite: transfers through grants, renewal, refusals."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from hpcburst import constants as c
from hpcburst.data.staging import NodeCache
from hpcburst.domain.staging import InputFile, OutputFile
from hpcburst.emulators import Azurite
from hpcburst.errors import Forbidden, NotFound
from hpcburst.storage.blob.azure import AzureBlobStore
from nodeagent.granted_store import GrantedBlobStore


@pytest.fixture
def blobs(azurite: Azurite) -> AzureBlobStore:
    store = AzureBlobStore.from_connection_string(azurite.connection_string)
    for container in (c.BLOB_DATA, c.BLOB_OUTPUT):
        store.ensure_container(container)
    return store


def test_inputs_stage_and_outputs_upload_through_their_grants_alone(
    blobs: AzureBlobStore, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    blobs.put(c.BLOB_DATA, f"{run}/in.txt", b"21")
    grants = {
        f"hpc-data/{run}/in.txt": blobs.sas_url(c.BLOB_DATA, f"{run}/in.txt", "r"),
        f"hpc-output/{run}/out.txt": blobs.sas_url(c.BLOB_OUTPUT, f"{run}/out.txt", "cw"),
    }
    cache = NodeCache(tmp_path / "cache", GrantedBlobStore(grants))
    workdir = tmp_path / "work"
    cache.stage_inputs([InputFile(blob=f"hpc-data/{run}/in.txt", path="in.txt")], workdir)
    assert (workdir / "in.txt").read_bytes() == b"21"
    (workdir / "out.txt").write_bytes(b"42")
    cache.collect_outputs([OutputFile(pattern="out.txt", blob=f"hpc-output/{run}/out.txt")], workdir)
    assert blobs.get(c.BLOB_OUTPUT, f"{run}/out.txt") == b"42"


def test_a_missing_or_expiring_grant_is_asked_for_again_and_an_unknown_one_is_refused(
    blobs: AzureBlobStore,
) -> None:
    run = uuid.uuid4().hex[:8]
    blobs.put(c.BLOB_DATA, f"{run}/a", b"a")
    asked: list[str] = []

    def refresh(ref: str) -> str | None:
        asked.append(ref)
        return blobs.sas_url(c.BLOB_DATA, f"{run}/a", "r") if ref == f"hpc-data/{run}/a" else None

    expiring = blobs.sas_url(c.BLOB_DATA, f"{run}/a", "r", timedelta(minutes=2))  # under RENEW_BEFORE
    store = GrantedBlobStore({f"hpc-data/{run}/a": expiring}, refresh)
    assert store.get(c.BLOB_DATA, f"{run}/a") == b"a"
    assert asked == [f"hpc-data/{run}/a"]
    assert store.get(c.BLOB_DATA, f"{run}/a") == b"a" and len(asked) == 1  # the renewed one is kept
    with pytest.raises(Forbidden, match="no storage grant"):
        store.get(c.BLOB_DATA, f"{run}/b")


def test_a_write_only_grant_sees_nothing_and_nothing_lists_or_deletes(blobs: AzureBlobStore) -> None:
    run = uuid.uuid4().hex[:8]
    store = GrantedBlobStore({f"hpc-output/{run}/o": blobs.sas_url(c.BLOB_OUTPUT, f"{run}/o", "cw")})
    with pytest.raises(NotFound):
        store.properties(c.BLOB_OUTPUT, f"{run}/o")
    assert store.committed_blocks(c.BLOB_OUTPUT, f"{run}/o") == []
    store.put(c.BLOB_OUTPUT, f"{run}/o", b"out")
    with pytest.raises(Forbidden):
        store.get(c.BLOB_OUTPUT, f"{run}/o")  # refused by storage itself
    for refused in (
        lambda: list(store.list(c.BLOB_OUTPUT)),
        lambda: store.delete(c.BLOB_OUTPUT, f"{run}/o"),
        lambda: store.ensure_container("anything"),
    ):
        with pytest.raises(Forbidden):
            refused()
    assert blobs.get(c.BLOB_OUTPUT, f"{run}/o") == b"out"
