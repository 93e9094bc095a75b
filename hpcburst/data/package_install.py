"""Installing packages on a node (hpcsync): newest version per package for the node's pool.

``PackageInstaller(package_root, blob_store).sync(pool)`` is what the node agent runs on start and
on ``hpcburst pkg sync``. Each package lands in ``package_root/<relative_path or name>``:

1. the archive is downloaded (verified transfer) and its sha256 checked against the record;
2. it is extracted into a fresh directory beside the target (``safe_extract``: zip-slip, symlinks
   and special files are refused);
3. the target is swapped in by two renames (current -> ``.previous-*``, new -> target); a failure
   between them renames the previous version back, and after a crash between them the next ``sync``
   puts the previous version back first (``recover``), before it even reads the registry.
So a failed install leaves the previous version in place and working. On a node that runs tasks, the swap
(step 3) waits for ``between_tasks``: the agent holds new task starts and waits until none runs, so a task
keeps the version it started with to its end while the next version downloads and extracts beside it. The installed version is
recorded in ``package_root/.hpcpack/<name>.json``. ``rollback(name)`` reinstalls the newest earlier
version; removing a bad version from the registry (``pkg remove NAME --version V``) makes every
node's next sync go back to the previous one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from hpcburst.constants import BLOB_PACKAGES
from hpcburst.data.filelock import FileLock
from hpcburst.data.hashing import sha256_file
from hpcburst.data.package_archive import safe_extract
from hpcburst.data.packages import PackageRecord, list_packages, newest_for_pool
from hpcburst.data.transfer_download import download
from hpcburst.domain.staging import check_relative
from hpcburst.errors import HpcBurstError, IntegrityError, NotFound
from hpcburst.storage.blob.port import BlobStore

STATE_DIR = ".hpcpack"
# Entered around each swap: returns once no task runs, and keeps new ones from starting until it exits.
BetweenTasks = Callable[[], AbstractContextManager[object]]


@dataclass
class InstallReport:
    installed: list[tuple[str, int]] = field(default_factory=list)
    current: list[tuple[str, int]] = field(default_factory=list)  # already at the wanted version
    failed: list[tuple[str, int, str]] = field(default_factory=list)  # (name, version, reason)

    @property
    def ok(self) -> bool:
        return not self.failed


class PackageInstaller:
    def __init__(self, package_root: Path | str, store: BlobStore, concurrency: int = 4) -> None:
        self.root = Path(package_root)
        self.store = store
        self.concurrency = concurrency
        self.state = self.root / STATE_DIR
        self.state.mkdir(parents=True, exist_ok=True)

    def installed(self) -> dict[str, PackageRecord]:
        """What this node has installed, by package name."""
        found = {}
        for path in self.state.glob("*.json"):
            try:
                record = PackageRecord.from_json(path.read_bytes())
            except (ValueError, TypeError):
                continue  # torn by a crash or edited by hand: the package counts as not installed
            found[record.name] = record
        return found

    def recover(self) -> None:
        """Put back each installed package whose swap a crash interrupted (its target renamed away)."""
        for record in self.installed().values():
            with FileLock(self._lock_path(record.name)):
                _recover(self.root / record.install_dir)

    def sync(self, pool: str | None = None, between_tasks: BetweenTasks | None = None) -> InstallReport:
        """Install the newest version of every package meant for ``pool``; one failure does not stop the rest."""
        self.recover()  # first, so a package is back in place even when the registry cannot be read
        report = InstallReport()
        have = self.installed()
        for name, wanted in sorted(newest_for_pool(list_packages(self.store), pool).items()):
            current = have.get(name)
            if current == wanted and (self.root / wanted.install_dir).is_dir():
                report.current.append((name, wanted.version))
                continue
            try:
                self.install(wanted, between_tasks)
                report.installed.append((name, wanted.version))
            except (HpcBurstError, OSError) as e:  # OSError: the node's disk (full, permissions)
                report.failed.append(
                    (name, wanted.version, e.message if isinstance(e, HpcBurstError) else str(e))
                )
        return report

    def rollback(self, name: str, pool: str | None = None) -> PackageRecord:
        """Reinstall the newest version of ``name`` older than the installed one (for ``pool``)."""
        current = self.installed().get(name)
        if current is None:
            raise NotFound(f"package {name!r} is not installed on this node")
        earlier = [r for r in list_packages(self.store, name) if r.version < current.version]
        choice = newest_for_pool(earlier, pool).get(name)
        if choice is None:
            raise NotFound(f"package {name!r} has no version older than {current.version} to roll back to")
        self.install(choice)
        return choice

    def install(self, record: PackageRecord, between_tasks: BetweenTasks | None = None) -> Path:
        """Install exactly ``record``; the previous install of the package stays if anything fails.
        Download and extraction run at once; the swap waits for ``between_tasks`` (no task running)."""
        target = self.root / check_relative(record.install_dir, "package relative path")
        with FileLock(self._lock_path(record.name)):
            _recover(target)
            archive = self._fetch(record)
            staging = target.parent / f".{target.name}.installing-{uuid.uuid4().hex[:8]}"
            try:
                staging.mkdir(parents=True)
                safe_extract(archive, staging)
                archive.unlink(missing_ok=True)
                with (between_tasks or nullcontext)():
                    self._swap_in(record, staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                archive.unlink(missing_ok=True)
        return target

    def _swap_in(self, record: PackageRecord, staging: Path, target: Path) -> None:
        _swap(staging, target)
        previous = self.installed().get(record.name)
        self._record(record)
        old = self.root / previous.install_dir if previous else target
        # A moved package leaves its old directory, unless one holds the other: an old one inside
        # the target went with the swap, and one around it now holds the new install.
        if not (old.is_relative_to(target) or target.is_relative_to(old)):
            shutil.rmtree(old, ignore_errors=True)

    def _lock_path(self, name: str) -> Path:
        # One installer at a time per package on a node (the agent and a manual `pkg sync` may overlap).
        return self.state / f"{name}.lock"

    def _fetch(self, record: PackageRecord) -> Path:
        # Named per package and version, not by content alone: two packages may hold the same archive, and
        # installs of different packages run at once (one lock per package), so they must not share a file.
        local = self.state / "downloads" / f"{record.name}-v{record.version:06d}-{record.sha256}.zip"
        download(self.store, BLOB_PACKAGES, record.archive, local, concurrency=self.concurrency)
        if sha256_file(local) != record.sha256:
            local.unlink(missing_ok=True)
            raise IntegrityError(
                f"package {record.name} v{record.version}: archive does not match its sha256"
            )
        return local

    def _record(self, record: PackageRecord) -> None:
        path = self.state / f"{record.name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_bytes(record.to_json())
        os.replace(tmp, path)


def _swap(staging: Path, target: Path) -> None:
    previous = None
    if target.exists():
        previous = target.with_name(f".{target.name}.previous-{uuid.uuid4().hex[:8]}")
        os.rename(target, previous)
    try:
        os.rename(staging, target)
    except BaseException:
        if previous is not None:
            os.rename(previous, target)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _recover(target: Path) -> None:
    """Finish a swap a crash interrupted: restore the previous version, drop half-made installs."""
    leftovers = sorted(target.parent.glob(f".{target.name}.previous-*"), key=lambda p: p.stat().st_mtime)
    if leftovers and not target.exists():
        os.rename(leftovers.pop(), target)
    for stale in [*leftovers, *target.parent.glob(f".{target.name}.installing-*")]:
        shutil.rmtree(stale, ignore_errors=True)
