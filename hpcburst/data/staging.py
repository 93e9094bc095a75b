"""Task staging on a node: a content-addressed input cache, input placement and output collection.

Interface for the node agent (``nodeagent/``)::

    cache = NodeCache(Path(os.environ["CCP_DATA"] or "~/.hpcburst/cache"), blob_store)
    placed = cache.stage_inputs(lease.input_files, workdir)           # before running the index
    uploaded = cache.collect_outputs(lease.output_files, workdir)     # after it exits
    # uploaded: ["hpc-output/job1/out/result-7.csv", ...]

- Specs may be ``InputFile``/``OutputFile`` models or their dict shapes (as in ``Lease``).
- ``index``: pass the sweep index to substitute ``*`` here; pass ``None`` (default) when the specs
  are already substituted: the lease builder (``hpcburst.domain.leasing``) substitutes every string
  field, so a lease's specs must not be substituted twice (``^*`` would turn into the index).
- A shared input is downloaded once per node: the cache is keyed by the blob's recorded sha256
  (hpcburst uploads) or by container/path/etag; concurrent task slots (threads) wait on one
  download per key, and other processes on the node wait on a file lock (``fcntl.flock``) under
  ``root/locks``; entries appear by atomic rename, so nobody sees a half-written file, and an entry
  keyed by sha256 is committed only when the downloaded bytes have that sha256 (else IntegrityError).
- Inputs are hard-linked into the workdir (copied across file systems, or with ``link=False``).
  Cache entries are read-only and carry a sentinel mtime: an entry a task changed through its
  hard link is noticed on the next hit and fetched again. (The node agent places inputs its own way,
  ``nodeagent.staging``: never a link a task's account could write through.)
- Outputs go up through the verified, parallel ``upload``; a pattern matching nothing uploads nothing.
- Size cap (``max_bytes``, the agent's ``--cache-max``): before a download, the least recently used entries
  are removed until the new one fits. Never removed: an entry being placed (pinned by ``using``, per
  process) or one hard-linked into a task's directory (link count above 1: a running task's input, and
  removing its name would free nothing). A copied input is the task's own file, so its entry may go. The
  cap is a target: when what is in use exceeds it, the cache grows past it rather than fail a task.
  Each hit or download sets the entry's access time, which orders the eviction.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hpcburst.data.filelock import FileLock
from hpcburst.data.manifest import META_SHA256, META_SIZE
from hpcburst.data.transfer_download import download
from hpcburst.data.transfer_upload import upload
from hpcburst.domain.staging import InputFile, OutputFile, check_relative
from hpcburst.errors import IntegrityError, InvalidSpec
from hpcburst.storage.blob.port import BlobInfo, BlobStore

CACHE_MTIME_NS = 1_000_000_000 * 10**9  # 2001-09-09: a cached entry's mtime; any other means it was modified
_LOCK_STRIPES = 64
S = TypeVar("S", bound=BaseModel)


_prepared: set[Path] = (
    set()
)  # cache roots whose directories this process made (agents make a cache per lease)
_prepared_lock = threading.Lock()
_pins: dict[tuple[Path, str], int] = {}  # (cache root, key) -> placements in progress in this process
_pins_lock = threading.Lock()


def _prepare(root: Path) -> None:
    with _prepared_lock:
        if root in _prepared:
            return
        (root / "objects").mkdir(parents=True, exist_ok=True)
        (root / "locks").mkdir(parents=True, exist_ok=True)
        _prepared.add(root)


class NodeCache:
    """Inputs fetched once per node, shared by every task slot and process using the same ``root``."""

    def __init__(
        self,
        root: Path | str,
        store: BlobStore,
        concurrency: int = 4,
        link: bool = True,
        max_bytes: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.store = store
        self.concurrency = concurrency
        self.link = link
        self.max_bytes = max_bytes  # None: no cap
        self.downloads = 0  # blobs fetched from storage by this instance
        self.hits = 0
        self.evicted = 0  # entries this instance removed to stay under max_bytes
        self._counter_lock = threading.Lock()
        self._key_locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        _prepare(self.root)

    # --- the cache ---
    def fetch(self, container: str, path: str) -> Path:
        """The local cached copy of ``container/path``, downloading it only if no slot has yet.

        With a cap, a concurrent fetch may evict the entry once this returns: place it inside ``using``."""
        with self.using(container, path) as entry:
            return entry

    @contextmanager
    def using(self, container: str, path: str) -> Iterator[Path]:
        """``fetch``, with the entry kept from eviction until the block ends (while it is placed)."""
        info = self.store.properties(container, path)
        key = cache_key(info)
        with _pinned(self.root, key):
            yield self._fetch(container, path, info, key)

    def _fetch(self, container: str, path: str, info: BlobInfo, key: str) -> Path:
        entry = self.root / "objects" / key[:2] / key
        if self._fresh(entry, info):
            return self._hit(entry)
        with self._key_locks[hash(key) % _LOCK_STRIPES], self._file_lock(key):
            if self._fresh(entry, info):
                return self._hit(entry)
            self._make_room(int(info.metadata.get(META_SIZE, info.size)))
            entry.parent.mkdir(parents=True, exist_ok=True)
            # One name per key (we hold its locks): a download a crash or a kill cut short resumes here.
            fetched = entry.with_name(f".{key}.fetched")
            try:
                stats = download(self.store, container, path, fetched, concurrency=self.concurrency)
                _check_content(key, stats.sha256, f"{container}/{path}")
                fetched.chmod(0o444)
                os.utime(fetched, ns=(time.time_ns(), CACHE_MTIME_NS))
                os.replace(fetched, entry)  # committed only once verified: nobody sees a wrong entry
            finally:
                fetched.unlink(missing_ok=True)
            with self._counter_lock:
                self.downloads += 1
        return entry

    def _make_room(self, incoming: int) -> None:
        """Remove least recently used entries until ``incoming`` more bytes fit under ``max_bytes``."""
        if self.max_bytes is None:
            return
        entries = []
        for path in (self.root / "objects").glob("*/*"):
            if path.name.startswith("."):
                continue  # a download in progress (or one to resume)
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            entries.append((st.st_atime_ns, path, st))
        total = sum(st.st_size for _, _, st in entries)
        with _pins_lock:  # a pin taken after this sees the entry gone and downloads it again
            for _, path, st in sorted(entries, key=lambda e: e[0]):
                if total + incoming <= self.max_bytes:
                    break
                if _pins.get((self.root, path.name)) or st.st_nlink > 1:
                    continue  # being placed, or linked into a task's directory
                path.unlink(missing_ok=True)
                total -= st.st_size
                with self._counter_lock:
                    self.evicted += 1

    def _fresh(self, entry: Path, info: BlobInfo) -> bool:
        try:
            st = entry.stat()
        except FileNotFoundError:
            return False
        size = int(info.metadata.get(META_SIZE, info.size))
        return st.st_mtime_ns == CACHE_MTIME_NS and st.st_size == size

    def _hit(self, entry: Path) -> Path:
        with self._counter_lock:
            self.hits += 1
        try:  # the access time orders eviction (set here: mounts with noatime never update it)
            os.utime(entry, ns=(time.time_ns(), CACHE_MTIME_NS))
        except OSError:
            pass  # another account's cache on a shared root: eviction order is only a hint
        return entry

    def _file_lock(self, key: str) -> FileLock:
        return FileLock(self.root / "locks" / f"{key}.lock")

    # --- staging ---
    def stage_inputs(
        self, inputs: Iterable[InputFile | Mapping[str, Any]], workdir: Path | str, index: int | None = None
    ) -> list[Path]:
        """Place every input in ``workdir``; returns the placed paths."""
        workdir = Path(workdir)
        placed = []
        for spec in inputs:
            item = _spec(InputFile, spec)
            if index is not None:
                item = item.for_index(index)
            loc = item.location
            with self.using(loc.container, loc.path) as cached:
                placed.append(self._place(cached, workdir / item.path))
        return placed

    def _place(self, cached: Path, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.staging-{threading.get_ident()}")
        tmp.unlink(missing_ok=True)
        try:
            if not self.link:
                raise OSError("copy requested")
            os.link(cached, tmp)
        except OSError:  # another file system (EXDEV), or links not wanted: copy
            shutil.copyfile(cached, tmp)
        os.replace(tmp, dest)
        return dest

    def collect_outputs(
        self, outputs: Iterable[OutputFile | Mapping[str, Any]], workdir: Path | str, index: int | None = None
    ) -> list[str]:
        """Upload the files matching each output pattern; returns the blob names ("container/path")."""
        workdir = Path(workdir).resolve()
        uploaded: list[str] = []
        for spec in outputs:
            item = _spec(OutputFile, spec)
            if index is not None:
                item = item.for_index(index)
            for file in sorted(p for p in workdir.glob(item.pattern) if p.is_file()):
                relative = _inside(workdir, file, item.pattern)
                dest = item.destination(relative)
                upload(self.store, file, dest.container, dest.path, concurrency=self.concurrency)
                uploaded.append(str(dest))
        return uploaded


@contextmanager
def _pinned(root: Path, key: str) -> Iterator[None]:
    with _pins_lock:
        _pins[(root, key)] = _pins.get((root, key), 0) + 1
    try:
        yield
    finally:
        with _pins_lock:
            _pins[(root, key)] -= 1
            if not _pins[(root, key)]:
                del _pins[(root, key)]


def _spec(model: type[S], spec: S | Mapping[str, Any]) -> S:
    if isinstance(spec, model):
        return spec
    try:
        return model.model_validate(spec)
    except ValidationError as e:
        raise InvalidSpec(f"bad {model.__name__} {dict(spec)!r}: {e.errors()[0]['msg']}") from e


def cache_key(info: BlobInfo) -> str:
    """Content address of a blob: its recorded sha256, else a hash of where it is and its etag."""
    digest = info.metadata.get(META_SHA256)
    if digest:
        return f"sha256-{digest}"
    where = f"{info.container}/{info.name}@{info.etag}".encode()
    return f"etag-{hashlib.sha256(where).hexdigest()}"


def _check_content(key: str, sha256: str, blob: str) -> None:
    """A content-addressed key must name the bytes downloaded: a blob whose recorded sha256 lies (its
    metadata rewritten by anyone who may write the container) would otherwise poison that key for every job."""
    if key.startswith("sha256-") and key != f"sha256-{sha256}":
        raise IntegrityError(
            f"{blob}: its bytes have sha256 {sha256}, not the {key.removeprefix('sha256-')} its metadata "
            "records; not cached",
            blob=blob,
        )


def _inside(workdir: Path, file: Path, pattern: str) -> str:
    resolved = file.resolve()  # a symlink in the workdir must not export files from elsewhere
    if not resolved.is_relative_to(workdir):
        raise InvalidSpec(f"output pattern {pattern!r} matched {file}, which resolves outside the workdir")
    return check_relative(resolved.relative_to(workdir).as_posix(), "output file")
