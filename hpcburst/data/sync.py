"""Directory sync between a local folder and a blob prefix, in either direction.

- ``sync_up``: uploads files whose size or mtime differ from what the blob's metadata recorded
  (the upload itself is a delta: unchanged blocks are not re-sent); ``delete=True`` removes blobs
  with no local file.
- ``sync_down``: downloads blobs whose local copy is missing or differs (by size, then by the
  recorded sha256); ``delete=True`` removes local files with no blob.
Manifest blobs (``manifest.MANIFEST_PREFIX``) are bookkeeping and never synced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from hpcburst.data.hashing import sha256_file
from hpcburst.data.manifest import MANIFEST_PREFIX, META_MTIME, META_SHA256, META_SIZE
from hpcburst.data.progress import ProgressCallback
from hpcburst.data.transfer_download import download
from hpcburst.data.transfer_upload import DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY, upload
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.storage.blob.port import BlobInfo, BlobStore


@dataclass
class SyncReport:
    transferred: list[str] = field(default_factory=list)  # relative paths copied
    skipped: list[str] = field(default_factory=list)  # already identical
    deleted: list[str] = field(default_factory=list)
    bytes_transferred: int = 0  # what crossed the network


def sync_up(
    store: BlobStore,
    local_dir: Path | str,
    container: str,
    prefix: str = "",
    delete: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    compress: bool = False,
    progress: ProgressCallback | None = None,
) -> SyncReport:
    root = _local_root(local_dir)
    remote = {rel: info for rel, info in _remote_files(store, container, prefix)}
    report = SyncReport()
    for rel in sorted(_local_files(root)):
        file = root / rel
        info = remote.pop(rel, None)
        if info is not None and _same_as_uploaded(file, info):
            report.skipped.append(rel)
            continue
        stats = upload(
            store, file, container, _join(prefix, rel), block_size, concurrency, compress, progress
        )
        report.transferred.append(rel)
        report.bytes_transferred += stats.bytes_sent
    if delete:
        for rel, info in sorted(remote.items()):
            store.delete(container, info.name)
            report.deleted.append(rel)
    return report


def sync_down(
    store: BlobStore,
    container: str,
    prefix: str,
    local_dir: Path | str,
    delete: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressCallback | None = None,
) -> SyncReport:
    root = Path(local_dir)
    root.mkdir(parents=True, exist_ok=True)
    report = SyncReport()
    wanted: set[str] = set()
    for rel, info in sorted(_remote_files(store, container, prefix), key=lambda x: x[0]):
        refuse_escape(rel, info)
        wanted.add(rel)
        target = root / rel
        if target.is_file() and _same_as_blob(target, info):
            report.skipped.append(rel)
            continue
        stats = download(store, container, info.name, target, concurrency, progress)
        report.transferred.append(rel)
        report.bytes_transferred += stats.bytes_received
    if delete:
        for rel in sorted(set(_local_files(root)) - wanted):
            (root / rel).unlink()
            report.deleted.append(rel)
    return report


def _local_root(local_dir: Path | str) -> Path:
    root = Path(local_dir)
    if not root.is_dir():
        raise NotFound(f"local directory {root} does not exist")
    return root


def _local_files(root: Path) -> Iterator[str]:
    for path in root.rglob("*"):
        if path.is_file() and not path.name.endswith(".hpcburst-partial"):
            yield path.relative_to(root).as_posix()


def _remote_files(store: BlobStore, container: str, prefix: str) -> Iterator[tuple[str, BlobInfo]]:
    base = prefix.strip("/")
    for info in store.list(container, f"{base}/" if base else ""):
        if info.name.startswith(MANIFEST_PREFIX):
            continue
        yield (info.name[len(base) + 1 :] if base else info.name), info


def _join(prefix: str, rel: str) -> str:
    base = prefix.strip("/")
    return f"{base}/{rel}" if base else rel


def _same_as_uploaded(file: Path, info: BlobInfo) -> bool:
    stat = file.stat()
    meta = info.metadata
    return meta.get(META_SIZE) == str(stat.st_size) and meta.get(META_MTIME) == str(stat.st_mtime_ns)


def _same_as_blob(file: Path, info: BlobInfo) -> bool:
    size = int(info.metadata.get(META_SIZE) or info.size)
    if file.stat().st_size != size:
        return False
    digest = info.metadata.get(META_SHA256)
    if digest is None:  # not uploaded by hpcburst: size and age are all we can compare
        return info.last_modified is not None and file.stat().st_mtime >= info.last_modified
    return sha256_file(file) == digest


def refuse_escape(rel: str, info: BlobInfo) -> None:
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or ".." in parts:
        raise InvalidSpec(f"blob {info.container}/{info.name} would land outside the target directory")
