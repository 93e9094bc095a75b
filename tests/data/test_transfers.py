"""Upload and download: parallel blocks, integrity, delta re-upload, compression (against Azurite)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hpcburst.data import download, upload
from hpcburst.data.hashing import sha256_file
from hpcburst.data.manifest import MANIFEST_PREFIX, META_BLOB, META_INLINE
from hpcburst.data.progress import TransferProgress
from hpcburst.errors import IntegrityError, InvalidSpec, NotFound
from hpcburst.storage.blob.azure import AzureBlobStore

KiB = 1024


def test_upload_then_download_round_trips_with_hashes(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    src = make_file("in.bin", 100 * KiB + 17)
    up = upload(store, src, container, "x/in.bin", block_size=16 * KiB, concurrency=4)
    assert (up.blocks_total, up.blocks_sent, up.blocks_reused) == (7, 7, 0)
    assert up.bytes_sent == up.size == src.stat().st_size
    assert up.sha256 == sha256_file(src)
    assert len(store.committed_blocks(container, "x/in.bin")) == 7

    down = download(store, container, "x/in.bin", tmp_path / "out" / "in.bin", concurrency=3)
    assert (tmp_path / "out" / "in.bin").read_bytes() == src.read_bytes()
    assert down.verified and down.sha256 == up.sha256 and down.blocks == 7


def test_empty_file_round_trips(store: AzureBlobStore, container: str, tmp_path: Path) -> None:
    src = tmp_path / "empty"
    src.write_bytes(b"")
    assert upload(store, src, container, "empty").blocks_total == 0
    download(store, container, "empty", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b""


def test_progress_reports_rate_and_eta(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path]
) -> None:
    events: list[TransferProgress] = []
    upload(store, make_file("p", 64 * KiB), container, "p", block_size=8 * KiB, progress=events.append)
    assert [e.blocks_done for e in events] == list(range(1, 9))
    assert events[-1].done_bytes == events[-1].total_bytes == 64 * KiB
    assert events[-1].fraction == 1.0 and events[-1].eta == 0
    assert all(e.rate > 0 for e in events)


def test_delta_reupload_sends_only_the_changed_block(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    src = make_file("d.bin", 128 * KiB)
    upload(store, src, container, "d.bin", block_size=16 * KiB)
    data = bytearray(src.read_bytes())
    data[3 * 16 * KiB + 5] ^= 0xFF  # one byte in block 3
    src.write_bytes(bytes(data))

    again = upload(store, src, container, "d.bin", block_size=16 * KiB)
    assert (again.blocks_sent, again.blocks_reused, again.bytes_sent) == (1, 7, 16 * KiB)
    download(store, container, "d.bin", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == bytes(data)


def test_unchanged_reupload_sends_nothing(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path]
) -> None:
    src = make_file("same", 40 * KiB)
    upload(store, src, container, "same", block_size=8 * KiB)
    assert upload(store, src, container, "same", block_size=8 * KiB).bytes_sent == 0


def test_corrupt_block_fails_the_download_loudly(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    src = make_file("c.bin", 64 * KiB)
    upload(store, src, container, "c.bin", block_size=16 * KiB)
    meta = store.properties(container, "c.bin").metadata
    ids = [b.id for b in store.committed_blocks(container, "c.bin")]
    # Storage-side corruption: block 2 silently holds other bytes under the same id and size.
    store.stage_block(container, "c.bin", ids[2], bytes(16 * KiB))
    store.commit_blocks(container, "c.bin", ids, metadata=meta)

    target = tmp_path / "c.out"
    with pytest.raises(IntegrityError, match=r"block 2 .*c\.bin") as caught:
        download(store, container, "c.bin", target)
    assert caught.value.details["block"] == 2
    assert not target.exists() and list(tmp_path.glob("*partial*")) == []


def test_truncated_blob_fails_against_its_manifest(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    upload(store, make_file("t", 32 * KiB), container, "t", block_size=8 * KiB)
    meta = store.properties(container, "t").metadata
    ids = [b.id for b in store.committed_blocks(container, "t")]
    store.commit_blocks(container, "t", ids[:-1], metadata=meta)
    with pytest.raises(IntegrityError, match="manifest records"):
        download(store, container, "t", tmp_path / "t")


def test_compression_is_per_block_and_round_trips(
    store: AzureBlobStore, container: str, tmp_path: Path
) -> None:
    import os

    src = tmp_path / "mixed"
    src.write_bytes(b"A" * 32 * KiB + os.urandom(16 * KiB))  # two compressible blocks, one not
    up = upload(store, src, container, "mixed", block_size=16 * KiB, compress=True)
    assert up.bytes_sent < 16 * KiB + 2 * KiB
    sizes = [b.size for b in store.committed_blocks(container, "mixed")]
    assert sizes[0] < 1 * KiB and sizes[2] == 16 * KiB  # random data is stored raw
    down = download(store, container, "mixed", tmp_path / "mixed.out")
    assert (tmp_path / "mixed.out").read_bytes() == src.read_bytes()
    assert down.bytes_received == up.bytes_sent


def test_many_blocks_keep_their_manifest_in_a_blob(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    src = make_file("many", 160 * KiB)  # 160 blocks: too many hashes for metadata
    upload(store, src, container, "many", block_size=1 * KiB, concurrency=8)
    meta = store.properties(container, "many").metadata
    assert META_INLINE not in meta and meta[META_BLOB].startswith(MANIFEST_PREFIX)
    download(store, container, "many", tmp_path / "many.out")
    assert (tmp_path / "many.out").read_bytes() == src.read_bytes()

    small = make_file("few", 2 * KiB)  # the re-upload's manifest fits inline: the old manifest blob goes
    upload(store, small, container, "many", block_size=1 * KiB)
    assert META_INLINE in store.properties(container, "many").metadata
    assert list(store.list(container, MANIFEST_PREFIX)) == []


def test_blob_from_another_tool_downloads_unverified(
    store: AzureBlobStore, container: str, tmp_path: Path
) -> None:
    store.put(container, "plain", b"0123456789" * 1000)
    stats = download(store, container, "plain", tmp_path / "plain", chunk_size=3 * KiB)
    assert (tmp_path / "plain").read_bytes() == b"0123456789" * 1000
    assert not stats.verified and stats.blocks == 4


def test_missing_inputs_say_what_is_missing(store: AzureBlobStore, container: str, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="local file"):
        upload(store, tmp_path / "nope", container, "x")
    with pytest.raises(NotFound, match="not found"):
        download(store, container, "nope", tmp_path / "x")
    (tmp_path / "f").write_bytes(b"1")
    with pytest.raises(InvalidSpec, match="block size"):
        upload(store, tmp_path / "f", container, "x", block_size=10)
    with pytest.raises(InvalidSpec, match="concurrency"):
        upload(store, tmp_path / "f", container, "x", concurrency=0)
