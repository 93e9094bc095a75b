"""Parallel ranged download of one blob to one local file, verified against its manifest.

Workers fetch byte ranges (one per recorded block, or fixed chunks for blobs hpcburst did not
upload), undo compression and check each block's sha256; the calling thread writes blocks in order
(at most ``2 * concurrency`` held in memory) while computing the whole-file sha256. The file is
written beside the target and renamed into place only when every check passed, so a failed or
corrupt download never leaves a half-written or wrong file under the target name.

Resume: an interrupted download leaves its partial file; downloading the same blob (same etag) to the
same target again keeps the whole blocks it holds and fetches the rest (``download_resume``). A download
that failed a check drops its partial file instead.
"""

from __future__ import annotations

import os
import time
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from hpcburst.data.download_resume import Resume, forget, resume_point
from hpcburst.data.hashing import sha256_bytes
from hpcburst.data.manifest import Manifest, load_manifest
from hpcburst.data.progress import ProgressCallback, ProgressTracker
from hpcburst.data.transfer_upload import DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY, check_transfer_options
from hpcburst.errors import IntegrityError
from hpcburst.storage.blob.port import BlobInfo, BlobStore


@dataclass(frozen=True)
class DownloadStats:
    container: str
    path: str
    size: int  # raw bytes written
    bytes_received: int  # bytes that crossed the network
    blocks: int
    verified: bool  # False for blobs without an hpcburst manifest (nothing to check against)
    sha256: str
    seconds: float
    resumed_bytes: int = 0  # raw bytes an interrupted earlier download left and this one kept

    @property
    def rate(self) -> float:
        return self.size / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class _Range:
    index: int
    offset: int  # in the blob
    stored_size: int
    raw_size: int
    digest: str | None  # None: unverified chunk


def download(
    store: BlobStore,
    container: str,
    path: str,
    local: Path | str,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressCallback | None = None,
    chunk_size: int = DEFAULT_BLOCK_SIZE,
) -> DownloadStats:
    """Download ``container/path`` to ``local``; raises IntegrityError naming the first bad block."""
    check_transfer_options(chunk_size, concurrency)
    local = Path(local)
    started = time.monotonic()
    info = store.properties(container, path)
    manifest = load_manifest(store, info)
    ranges = _plan(info, manifest, chunk_size)
    raw_total = manifest.size if manifest else info.size
    tracker = ProgressTracker(f"{container}/{path}", raw_total, len(ranges), progress)
    local.parent.mkdir(parents=True, exist_ok=True)
    kept = resume_point(local, info, list(ranges))
    for r in ranges[: kept.blocks]:
        tracker.dispatched(r.raw_size)
        tracker.finished(r.raw_size, 0)
    try:
        whole = _fetch_in_order(store, container, path, ranges[kept.blocks :], kept, concurrency, tracker)
        if manifest is not None and whole != manifest.sha256:
            raise IntegrityError(
                f"{container}/{path}: whole-file sha256 does not match the manifest", blob=path
            )
        os.replace(kept.partial, local)
    except IntegrityError:
        forget(local)  # bytes that failed a check are not worth resuming from
        raise
    forget(local)
    return DownloadStats(
        container=container,
        path=path,
        size=raw_total,
        bytes_received=tracker.transferred_bytes,
        blocks=len(ranges),
        verified=manifest is not None,
        sha256=whole,
        seconds=time.monotonic() - started,
        resumed_bytes=kept.raw_bytes,
    )


def _plan(info: BlobInfo, manifest: Manifest | None, chunk_size: int) -> list[_Range]:
    if manifest is None:
        return [
            _Range(i, off, min(chunk_size, info.size - off), min(chunk_size, info.size - off), None)
            for i, off in enumerate(range(0, info.size, chunk_size))
        ]
    stored_total = sum(b.stored_size for b in manifest.blocks)
    if stored_total != info.size:
        raise IntegrityError(
            f"{info.container}/{info.name}: blob holds {info.size} bytes, its manifest records {stored_total}",
            blob=info.name,
        )
    ranges, offset = [], 0
    for i, block in enumerate(manifest.blocks):
        ranges.append(_Range(i, offset, block.stored_size, manifest.raw_size(i), block.digest))
        offset += block.stored_size
    return ranges


def _fetch_in_order(
    store: BlobStore,
    container: str,
    path: str,
    ranges: list[_Range],
    kept: Resume,
    concurrency: int,
    tracker: ProgressTracker,
) -> str:
    whole = kept.whole
    queue: deque[tuple[_Range, Future[bytes]]] = deque()
    todo = iter(ranges)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="download")
    try:
        with open(kept.partial, "ab") as out:  # after the kept prefix (resume_point truncated it there)
            for r in todo:
                queue.append((r, pool.submit(_fetch, store, container, path, r)))
                tracker.dispatched(r.raw_size)
                if len(queue) >= 2 * concurrency:
                    _write_next(queue, out, whole, tracker)
            while queue:
                _write_next(queue, out, whole, tracker)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return whole.hexdigest()


def _write_next(
    queue: deque[tuple[_Range, Future[bytes]]], out: BinaryIO, whole: Any, tracker: ProgressTracker
) -> None:
    r, fut = queue.popleft()
    raw = fut.result()
    out.write(raw)
    whole.update(raw)
    tracker.finished(r.raw_size, r.stored_size)


def _fetch(store: BlobStore, container: str, path: str, r: _Range) -> bytes:
    stored = store.download_range(container, path, r.offset, r.stored_size)
    where = f"block {r.index} (blob bytes {r.offset}..{r.offset + r.stored_size}) of {container}/{path}"
    if len(stored) != r.stored_size:
        raise IntegrityError(f"{where}: got {len(stored)} bytes, expected {r.stored_size}", block=r.index)
    raw = stored
    if r.stored_size < r.raw_size:  # stored compressed (see manifest.py)
        try:
            raw = zlib.decompress(stored)
        except zlib.error as e:
            raise IntegrityError(f"{where}: compressed data is corrupt ({e})", block=r.index) from e
    if r.digest is not None and (len(raw) != r.raw_size or sha256_bytes(raw) != r.digest):
        raise IntegrityError(
            f"{where} does not match its recorded sha256: the blob is corrupt", block=r.index
        )
    return raw
