"""An interrupted upload resumes without re-sending what was already staged (against Azurite)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from transfer_kill import download_and_kill, upload_and_kill

from hpcburst.data import download, upload
from hpcburst.data.progress import TransferProgress
from hpcburst.emulators import Azurite
from hpcburst.errors import NotFound
from hpcburst.storage.blob.azure import AzureBlobStore

KiB = 1024
BLOCK = 64 * KiB
WORKERS = 4


def test_upload_killed_half_way_resumes_resending_at_most_one_block_per_worker(
    azurite: Azurite,
    store: AzureBlobStore,
    container: str,
    make_file: Callable[[str, int], Path],
    tmp_path: Path,
) -> None:
    src = make_file("big.bin", 64 * BLOCK)
    killed = upload_and_kill(
        azurite.connection_string, src, container, "big.bin", BLOCK, WORKERS, 0.5, tmp_path / "report.json"
    )
    assert killed.returncode == -signal.SIGKILL
    with pytest.raises(NotFound):
        store.get(container, "big.bin")  # nothing committed: the kill came mid-upload
    staged = store.uncommitted_blocks(container, "big.bin")
    assert len(staged) * BLOCK >= killed.done_bytes >= src.stat().st_size // 2

    resumed = upload(store, src, container, "big.bin", block_size=BLOCK, concurrency=WORKERS)
    # Everything the dead process finished is reused; so the only bytes sent twice are the blocks
    # its workers were sending when it died: at most one block per worker.
    assert resumed.blocks_reused >= len(staged)  # a block on the wire at the kill may still have landed
    assert resumed.bytes_sent <= src.stat().st_size - killed.done_bytes
    resent = killed.sent_upper_bound + resumed.bytes_sent - src.stat().st_size
    assert resent <= WORKERS * BLOCK
    download(store, container, "big.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()


class Interrupted(Exception):
    pass


def test_upload_aborted_by_its_progress_callback_resumes_from_the_staged_blocks(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path]
) -> None:
    src = make_file("half.bin", 32 * BLOCK)

    def stop_half_way(p: TransferProgress) -> None:
        if p.fraction >= 0.5:
            raise Interrupted

    with pytest.raises(Interrupted):
        upload(
            store, src, container, "half.bin", block_size=BLOCK, concurrency=WORKERS, progress=stop_half_way
        )
    staged = len(store.uncommitted_blocks(container, "half.bin"))
    assert 16 <= staged < 32

    resumed = upload(store, src, container, "half.bin", block_size=BLOCK, concurrency=WORKERS)
    assert (resumed.blocks_reused, resumed.blocks_sent) == (staged, 32 - staged)
    assert store.properties(container, "half.bin").size == src.stat().st_size


def test_download_killed_half_way_resumes_fetching_only_what_it_had_not_written(
    azurite: Azurite,
    store: AzureBlobStore,
    container: str,
    make_file: Callable[[str, int], Path],
    tmp_path: Path,
) -> None:
    src = make_file("big.bin", 64 * BLOCK)
    upload(store, src, container, "big.bin", block_size=BLOCK, concurrency=WORKERS)
    target = tmp_path / "copy.bin"
    killed = download_and_kill(
        azurite.connection_string, container, "big.bin", target, BLOCK, WORKERS, 0.5, tmp_path / "report.json"
    )
    assert killed.returncode == -signal.SIGKILL
    assert not target.exists()  # the target appears only once complete and verified

    resumed = download(store, container, "big.bin", target, concurrency=WORKERS)
    assert resumed.resumed_bytes >= killed.done_bytes >= src.stat().st_size // 2
    assert resumed.bytes_received == src.stat().st_size - resumed.resumed_bytes
    assert resumed.verified and target.read_bytes() == src.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".copy.bin")] == []  # nothing left over


def _download_half(store: AzureBlobStore, container: str, name: str, target: Path) -> None:
    def stop_half_way(p: TransferProgress) -> None:
        if p.fraction >= 0.5:
            raise Interrupted

    with pytest.raises(Interrupted):
        download(store, container, name, target, concurrency=WORKERS, progress=stop_half_way)
    assert not target.exists()


def test_download_aborted_by_its_progress_callback_resumes(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    src = make_file("half.bin", 32 * BLOCK)
    upload(store, src, container, "half.bin", block_size=BLOCK, concurrency=WORKERS)
    target = tmp_path / "out" / "half.bin"
    _download_half(store, container, "half.bin", target)

    resumed = download(store, container, "half.bin", target, concurrency=WORKERS)
    assert resumed.resumed_bytes >= 16 * BLOCK
    assert resumed.bytes_received == 32 * BLOCK - resumed.resumed_bytes
    assert target.read_bytes() == src.read_bytes()


def test_a_blob_changed_since_the_interrupted_download_is_fetched_whole(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    first = make_file("v1.bin", 32 * BLOCK)
    upload(store, first, container, "data.bin", block_size=BLOCK, concurrency=WORKERS)
    target = tmp_path / "out" / "data.bin"
    _download_half(store, container, "data.bin", target)
    second = make_file("v2.bin", 32 * BLOCK)
    upload(store, second, container, "data.bin", block_size=BLOCK, concurrency=WORKERS)

    again = download(store, container, "data.bin", target, concurrency=WORKERS)
    assert (again.resumed_bytes, again.bytes_received) == (0, 32 * BLOCK)
    assert target.read_bytes() == second.read_bytes()


def test_a_partial_block_that_no_longer_matches_its_sha256_is_fetched_again(
    store: AzureBlobStore, container: str, make_file: Callable[[str, int], Path], tmp_path: Path
) -> None:
    src = make_file("c.bin", 32 * BLOCK)
    upload(store, src, container, "c.bin", block_size=BLOCK, concurrency=WORKERS)
    target = tmp_path / "out" / "c.bin"
    _download_half(store, container, "c.bin", target)
    partial = tmp_path / "out" / ".c.bin.hpcburst-partial"
    with open(partial, "r+b") as f:  # damage block 3 on disk
        f.seek(3 * BLOCK + 10)
        f.write(b"\0garbage\0")

    again = download(store, container, "c.bin", target, concurrency=WORKERS)
    assert again.resumed_bytes == 3 * BLOCK  # blocks 0-2 kept, everything from the bad one fetched
    assert target.read_bytes() == src.read_bytes()
