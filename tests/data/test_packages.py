"""Packages (hpcpack/hpcsync): versioned zips in blob storage installed safely on nodes (Azurite)."""

from __future__ import annotations

import stat
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from hpcburst.constants import BLOB_PACKAGES
from hpcburst.data.hashing import sha256_file
from hpcburst.data.package_archive import SymlinkEntry, UnsafeArchive, ZipSlip, create_zip, safe_extract
from hpcburst.data.package_install import PackageInstaller
from hpcburst.data.packages import list_packages, newest_for_pool, record_blob, remove_package, upload_package
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.blob.memory import MemoryBlobStore


@pytest.fixture
def name(store: AzureBlobStore) -> Iterator[str]:
    package = f"app-{uuid.uuid4().hex[:8]}"  # the registry container is shared by the session
    yield package
    try:
        remove_package(store, package)  # leave no (possibly broken) package for other tests' syncs
    except NotFound:
        pass


def app_version(tmp_path: Path, name: str, version: str) -> Path:
    src = tmp_path / f"src-{version}"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "solver").write_text(f"#!/bin/sh\necho {version}\n")
    (src / "bin" / "solver").chmod(0o755)
    (src / "VERSION").write_text(version)
    return create_zip(src, tmp_path / f"{name}-{version}.zip")


def evil_zip(path: Path, entry: str, data: bytes = b"x", mode: int = 0o644) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", "fine")
        info = zipfile.ZipInfo(entry)
        info.external_attr = mode << 16
        zf.writestr(info, data)
    return path


def test_install_upgrade_and_rollback(store: AzureBlobStore, tmp_path: Path, name: str) -> None:
    root = tmp_path / "packages"
    installer = PackageInstaller(root, store)
    v1 = upload_package(store, name, app_version(tmp_path, name, "1.0"))
    assert (v1.version, v1.pool, v1.relative_path) == (1, None, None)

    report = installer.sync()
    assert (name, 1) in report.installed and report.ok
    assert (root / name / "VERSION").read_text() == "1.0"
    assert (root / name / "bin/solver").stat().st_mode & stat.S_IXUSR  # executables stay executable
    assert (name, 1) in installer.sync().current  # nothing to do the second time

    upload_package(store, name, app_version(tmp_path, name, "2.0"))
    assert (name, 2) in installer.sync().installed
    assert (root / name / "VERSION").read_text() == "2.0"

    assert installer.rollback(name).version == 1
    assert (root / name / "VERSION").read_text() == "1.0"
    assert installer.installed()[name].version == 1

    remove_package(store, name, version=2)  # the registry-wide rollback: every node's next sync goes back
    assert (name, 1) in installer.sync().current
    assert [r.version for r in list_packages(store, name)] == [1]
    assert list(root.glob(f".{name}*")) == []  # no staging or previous dirs left behind


def test_a_failed_install_leaves_the_previous_version_working(
    store: AzureBlobStore, tmp_path: Path, name: str
) -> None:
    root = tmp_path / "packages"
    installer = PackageInstaller(root, store)
    upload_package(store, name, app_version(tmp_path, name, "1.0"))
    installer.sync()
    upload_package(store, name, evil_zip(tmp_path / "bad.zip", "../../escaped.txt"))

    report = installer.sync()
    assert report.failed and report.failed[0][:2] == (name, 2)
    assert "outside the package directory" in report.failed[0][2]
    assert (root / name / "VERSION").read_text() == "1.0"
    assert installer.installed()[name].version == 1
    assert not (tmp_path / "escaped.txt").exists() and not (root / "escaped.txt").exists()
    assert list(root.glob(f".{name}*")) == []


def test_a_swap_cut_by_a_crash_is_undone_by_the_next_sync(
    store: AzureBlobStore, tmp_path: Path, name: str
) -> None:
    root = tmp_path / "packages"
    installer = PackageInstaller(root, store)
    upload_package(store, name, app_version(tmp_path, name, "1.0"))
    installer.sync()
    (root / name).rename(root / f".{name}.previous-0badc0de")  # killed between the two renames

    report = PackageInstaller(root, MemoryBlobStore()).sync()  # the registry no longer offers it
    assert report.ok and not report.installed
    assert (root / name / "VERSION").read_text() == "1.0"
    assert list(root.glob(f".{name}*")) == []


def test_a_node_side_failure_is_reported_and_a_torn_record_reinstalls(
    store: AzureBlobStore, tmp_path: Path, name: str
) -> None:
    root = tmp_path / "packages"
    root.mkdir()
    (root / "occupied").write_text("a file where the install directory's parent should be")
    upload_package(store, name, app_version(tmp_path, name, "1.0"), relative_path="occupied/app")
    report = PackageInstaller(root, store).sync()
    assert [f[:2] for f in report.failed if f[0] == name] == [(name, 1)]  # reported, not raised

    (root / "occupied").unlink()
    installer = PackageInstaller(root, store)
    assert (name, 1) in installer.sync().installed
    (root / ".hpcpack" / f"{name}.json").write_bytes(b"")  # a record a power loss left empty
    assert name not in installer.installed()
    assert (name, 1) in installer.sync().installed
    assert installer.installed()[name].version == 1


def test_moving_a_package_keeps_the_new_install_when_one_dir_holds_the_other(
    store: AzureBlobStore, tmp_path: Path, name: str
) -> None:
    root = tmp_path / "packages"
    installer = PackageInstaller(root, store)
    upload_package(store, name, app_version(tmp_path, name, "1.0"), relative_path=f"{name}/bin")
    installer.sync()
    upload_package(store, name, app_version(tmp_path, name, "2.0"))  # now installs to NAME, around NAME/bin
    installer.sync()
    assert (root / name / "VERSION").read_text() == "2.0"
    assert (root / name / "bin" / "solver").read_text() == "#!/bin/sh\necho 2.0\n"

    upload_package(store, name, app_version(tmp_path, name, "3.0"), relative_path=f"{name}/v3")
    installer.sync()  # now inside the old directory
    assert (root / name / "v3" / "VERSION").read_text() == "3.0"
    upload_package(store, name, app_version(tmp_path, name, "4.0"), relative_path="elsewhere")
    installer.sync()  # an unrelated directory: the old one goes
    assert (root / "elsewhere" / "VERSION").read_text() == "4.0" and not (root / name / "v3").exists()


def test_packages_go_to_their_pool_and_relative_path(
    store: AzureBlobStore, tmp_path: Path, name: str
) -> None:
    upload_package(store, name, app_version(tmp_path, name, "all"))
    upload_package(store, name, app_version(tmp_path, name, "gpu"), pool="gpu", relative_path="apps/solver")
    records = list_packages(store, name)
    assert newest_for_pool(records, "cpu")[name].version == 1
    assert newest_for_pool(records, "gpu")[name].version == 2

    gpu_root = tmp_path / "gpu-node"
    PackageInstaller(gpu_root, store).sync("gpu")
    assert (gpu_root / "apps/solver/VERSION").read_text() == "gpu"
    cpu_root = tmp_path / "cpu-node"
    PackageInstaller(cpu_root, store).sync("cpu")
    assert (cpu_root / name / "VERSION").read_text() == "all"


class _ListOnly:
    """A registry a node may only list: each record must come with the listing, not by a read per version."""

    def __init__(self, store: AzureBlobStore) -> None:
        self.list = store.list

    def get(self, container: str, name: str) -> bytes:
        raise AssertionError(f"read {container}/{name}")


def test_listing_the_registry_reads_no_record_blobs(store: AzureBlobStore, tmp_path: Path, name: str) -> None:
    upload_package(store, name, app_version(tmp_path, name, "1.0"))
    upload_package(store, name, app_version(tmp_path, name, "2.0"), pool="gpu")
    records = list_packages(_ListOnly(store), name)  # type: ignore[arg-type]
    assert records == list_packages(store, name)
    assert [(r.version, r.pool) for r in records] == [(1, None), (2, "gpu")]
    older = replace(records[0], version=3)  # a record uploaded before records rode in metadata
    store.put(BLOB_PACKAGES, record_blob(name, 3), older.to_json())
    assert list_packages(store, name)[-1] == older


def test_remove_deletes_records_and_archives(store: AzureBlobStore, tmp_path: Path, name: str) -> None:
    upload_package(store, name, app_version(tmp_path, name, "1.0"))
    upload_package(store, name, app_version(tmp_path, name, "2.0"))
    assert [r.version for r in remove_package(store, name)] == [1, 2]
    assert list(store.list(BLOB_PACKAGES, f"{name}/")) == []
    with pytest.raises(NotFound, match="pkg list"):
        remove_package(store, name)


def test_zip_slip_archives_are_rejected(tmp_path: Path) -> None:
    for i, entry in enumerate(["../evil.txt", "a/../../evil.txt", "/etc/evil", "C:/evil", "..\\evil.txt"]):
        target = tmp_path / f"t{i}"
        target.mkdir()
        with pytest.raises(ZipSlip):
            safe_extract(evil_zip(tmp_path / f"slip{i}.zip", entry), target)
        assert list(target.iterdir()) == []  # checked before anything is written


def test_symlink_entries_are_rejected(tmp_path: Path) -> None:
    archive = evil_zip(tmp_path / "link.zip", "passwd", data=b"/etc/passwd", mode=stat.S_IFLNK | 0o777)
    with pytest.raises(SymlinkEntry, match="symlink"):
        safe_extract(archive, tmp_path)
    fifo = evil_zip(tmp_path / "fifo.zip", "pipe", mode=stat.S_IFIFO | 0o644)
    with pytest.raises(UnsafeArchive, match="special file"):
        safe_extract(fifo, tmp_path)


def test_create_refuses_symlinks_and_upload_checks_its_inputs(
    store: AzureBlobStore, tmp_path: Path, name: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "link").symlink_to("/etc/hostname")
    with pytest.raises(InvalidSpec, match="symlink"):
        create_zip(src, tmp_path / "x.zip")
    with pytest.raises(NotFound, match="pkg create"):
        upload_package(store, name, tmp_path / "missing.zip")
    with pytest.raises(InvalidSpec, match="package name"):
        upload_package(store, "../up", tmp_path / "missing.zip")
    (tmp_path / "ok.zip").write_bytes(b"")
    with pytest.raises(InvalidSpec, match="relative path"):
        upload_package(store, name, tmp_path / "ok.zip", relative_path="/opt/app")


def test_concurrent_uploads_get_distinct_versions(store: AzureBlobStore, tmp_path: Path, name: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    archives = [app_version(tmp_path, name, f"{i}.0") for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        records = list(pool.map(lambda a: upload_package(store, name, a), archives))
    assert sorted(r.version for r in records) == [1, 2, 3, 4]


class _HeldDownload(MemoryBlobStore):
    """Holds the download of one blob until told to go on, so another install can run meanwhile."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held, self.reached, self.go_on = held, threading.Event(), threading.Event()

    def download_range(self, container: str, name: str, offset: int, length: int) -> bytes:
        if name == self.held:
            self.reached.set()
            assert self.go_on.wait(30)
        return super().download_range(container, name, offset, length)


def test_two_packages_with_identical_archives_install_side_by_side(tmp_path: Path) -> None:
    archive = app_version(tmp_path, "same", "1.0")  # one zip uploaded as two packages: same sha256
    store = _HeldDownload("first/sha256-" + sha256_file(archive) + ".zip")
    first = upload_package(store, "first", archive)
    second = upload_package(store, "second", archive)
    assert first.sha256 == second.sha256
    root = tmp_path / "packages"
    errors: list[BaseException] = []

    def install_first() -> None:
        try:
            PackageInstaller(root, store).install(first)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    thread = threading.Thread(target=install_first)
    thread.start()
    assert store.reached.wait(30)  # the first install is mid-download ...
    PackageInstaller(root, store).install(second)  # ... while the second (another process, say) runs whole
    store.go_on.set()
    thread.join(30)
    assert errors == []
    assert (root / "first" / "VERSION").read_text() == (root / "second" / "VERSION").read_text() == "1.0"
    assert list((root / ".hpcpack" / "downloads").iterdir()) == []  # both archives cleaned up


def test_a_new_version_is_swapped_in_only_between_tasks(
    store: AzureBlobStore, tmp_path: Path, name: str
) -> None:
    root = tmp_path / "packages"
    upload_package(store, name, app_version(tmp_path, name, "1.0"))
    PackageInstaller(root, store).sync()
    upload_package(store, name, app_version(tmp_path, name, "2.0"))
    task_done = threading.Event()

    @contextmanager
    def between_tasks() -> Iterator[None]:
        assert task_done.wait(30)  # the agent's gate: returns once no task runs
        yield

    syncing = threading.Thread(target=PackageInstaller(root, store).sync, args=(None, between_tasks))
    syncing.start()
    deadline = time.monotonic() + 30
    while not list(root.glob(f".{name}.installing-*/VERSION")) and time.monotonic() < deadline:
        time.sleep(0.01)
    staged = list(root.glob(f".{name}.installing-*/VERSION"))
    assert [p.read_text() for p in staged] == ["2.0"]  # version 2 is ready beside version 1 ...
    assert (root / name / "VERSION").read_text() == "1.0"  # ... and the running task still has version 1
    task_done.set()
    syncing.join(30)
    assert (root / name / "VERSION").read_text() == "2.0"  # the next task gets version 2
    assert PackageInstaller(root, store).installed()[name].version == 2
