"""Parallel, resumable, delta-aware block upload of one local file to one blob.

How a file crosses: the calling thread reads the file once, in order, feeding the whole-file sha256,
and hands each block to a pool of ``concurrency`` workers (at most ``2 * concurrency`` blocks held in
memory). A worker hashes its block, derives the block id from position + content hash, and stages it
only if a block with that id is not already in the blob's committed or uncommitted block list:
- resume: blocks staged by an interrupted upload are uncommitted blocks with matching ids;
- delta: blocks of the previous version that did not change are committed blocks with matching ids.
Finally the block list is committed with the manifest (per-block hashes) recorded in metadata.

``UploadStats`` says what crossed the network, so callers and benches can check bytes re-sent.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from hpcburst.data.hashing import MAX_BLOCKS, block_count, block_id, sha256_bytes
from hpcburst.data.manifest import META_MTIME, BlockEntry, Manifest, manifest_metadata, stale_manifest_blob
from hpcburst.data.progress import ProgressCallback, ProgressTracker
from hpcburst.errors import Forbidden, InvalidSpec, NotFound
from hpcburst.storage.blob.port import BlobInfo, BlobStore

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
DEFAULT_CONCURRENCY = 8
MIN_BLOCK_SIZE = 1024
MAX_BLOCK_SIZE = 4000 * 1024 * 1024  # Azure's largest block


@dataclass(frozen=True)
class UploadStats:
    container: str
    path: str
    size: int  # raw bytes of the file
    sha256: str
    bytes_sent: int  # bytes that crossed the network (compressed when compressing)
    blocks_total: int
    blocks_sent: int
    blocks_reused: int  # already staged (resume) or already committed and unchanged (delta)
    seconds: float

    @property
    def rate(self) -> float:
        return self.size / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class _Done:
    index: int
    raw_size: int
    entry: BlockEntry
    sent: int


def check_transfer_options(block_size: int, concurrency: int) -> None:
    if not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE:
        raise InvalidSpec(f"block size {block_size}: use {MIN_BLOCK_SIZE} bytes .. 4000 MiB")
    if concurrency < 1:
        raise InvalidSpec(f"concurrency {concurrency}: use 1 or more")


def ensure_container(store: BlobStore, container: str) -> None:
    try:
        store.ensure_container(container)
    except Forbidden:
        pass  # a container-scoped SAS may not create containers; the upload itself will say if it is missing


def upload(
    store: BlobStore,
    local: Path | str,
    container: str,
    path: str,
    block_size: int = DEFAULT_BLOCK_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    compress: bool = False,
    progress: ProgressCallback | None = None,
) -> UploadStats:
    """Upload ``local`` to ``container/path``; re-running after a failure or a change sends only what is missing."""
    local = Path(local)
    if not local.is_file():
        raise NotFound(f"local file {local} does not exist (or is not a regular file)")
    check_transfer_options(block_size, concurrency)
    stat = local.stat()
    blocks_total = block_count(stat.st_size, block_size)
    if blocks_total > MAX_BLOCKS:
        raise InvalidSpec(
            f"{local} needs {blocks_total} blocks of {block_size} bytes: use a larger block size"
        )
    ensure_container(store, container)
    started = time.monotonic()
    previous = _existing(store, container, path)
    available = {b.id: b.size for b in store.committed_blocks(container, path)}
    available.update({b.id: b.size for b in store.uncommitted_blocks(container, path)})
    tracker = ProgressTracker(f"{container}/{path}", stat.st_size, blocks_total, progress)
    job = _BlockJob(store, container, path, compress, available)
    entries, whole = _send_blocks(local, block_size, concurrency, blocks_total, job, tracker)
    manifest = Manifest(stat.st_size, block_size, whole, compress, tuple(entries))
    meta = manifest_metadata(store, container, path, manifest, {META_MTIME: str(stat.st_mtime_ns)})
    store.commit_blocks(container, path, manifest.block_ids(), metadata=meta)
    stale = stale_manifest_blob(previous, meta)
    if stale:
        _delete_quietly(store, container, stale)
    return UploadStats(
        container=container,
        path=path,
        size=stat.st_size,
        sha256=whole,
        bytes_sent=job.bytes_sent,
        blocks_total=blocks_total,
        blocks_sent=job.blocks_sent,
        blocks_reused=blocks_total - job.blocks_sent,
        seconds=time.monotonic() - started,
    )


class _BlockJob:
    """What a worker does with one block: hash, name, and stage it unless the blob already has it."""

    def __init__(
        self, store: BlobStore, container: str, path: str, compress: bool, available: dict[str, int]
    ) -> None:
        self.store, self.container, self.path, self.compress = store, container, path, compress
        self.available = available
        self.bytes_sent = 0  # updated by the calling thread only (from _Done results)
        self.blocks_sent = 0

    def __call__(self, index: int, data: bytes) -> _Done:
        digest = sha256_bytes(data)
        bid = block_id(index, digest, self.compress)
        if bid in self.available:
            return _Done(index, len(data), BlockEntry(digest, self.available[bid]), 0)
        payload = data
        if self.compress:
            packed = zlib.compress(data, 1)
            payload = packed if len(packed) < len(data) else data
        self.store.stage_block(self.container, self.path, bid, payload)
        return _Done(index, len(data), BlockEntry(digest, len(payload)), len(payload))


def _send_blocks(
    local: Path,
    block_size: int,
    concurrency: int,
    blocks_total: int,
    job: _BlockJob,
    tracker: ProgressTracker,
) -> tuple[list[BlockEntry], str]:
    entries: list[BlockEntry | None] = [None] * blocks_total
    whole = hashlib.sha256()
    pending: set[Future[_Done]] = set()

    def collect(block: bool) -> None:
        nonlocal pending
        done, pending = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for fut in done:
            result = fut.result()
            entries[result.index] = result.entry
            if result.sent:
                job.bytes_sent += result.sent
                job.blocks_sent += 1
            tracker.finished(result.raw_size, result.sent)

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="upload")
    try:
        with open(local, "rb") as f:
            for index in range(blocks_total):
                while len(pending) >= 2 * concurrency:
                    collect(block=True)
                data = f.read(block_size)
                whole.update(data)
                tracker.dispatched(len(data))
                pending.add(pool.submit(job, index, data))
                collect(block=False)
        while pending:
            collect(block=True)
    finally:
        pool.shutdown(
            wait=True, cancel_futures=True
        )  # blocks already being staged finish: a resume reuses them
    return [e for e in entries if e is not None], whole.hexdigest()


def _existing(store: BlobStore, container: str, path: str) -> BlobInfo | None:
    try:
        return store.properties(container, path)
    except NotFound:
        return None


def _delete_quietly(store: BlobStore, container: str, name: str) -> None:
    try:
        store.delete(container, name)
    except NotFound:
        pass
