"""Package archives: zip a directory (``hpcburst pkg create``) and extract one safely on a node.

Extraction trusts nothing in the archive: every entry is checked before anything is written, and
an archive with an entry that would land outside the target (absolute path, drive letter, ``..``),
a symlink, or any special file is refused whole. File modes are kept, so executables stay runnable.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from hpcburst.errors import InvalidSpec, NotFound


class UnsafeArchive(InvalidSpec):
    """A package archive tries to write outside its install directory or holds a non-regular file."""


class ZipSlip(UnsafeArchive):
    """An entry's path is absolute or climbs out with '..' (the zip-slip attack)."""


class SymlinkEntry(UnsafeArchive):
    """An entry is a symbolic link: it could point anywhere on the node, so packages may not have them."""


def create_zip(source: Path | str, archive: Path | str) -> Path:
    """Zip the files under ``source`` (paths relative to it, modes kept); refuses symlinks."""
    source, archive = Path(source), Path(archive)
    if not source.is_dir():
        raise NotFound(f"package directory {source} does not exist")
    files = sorted(p for p in source.rglob("*") if p.is_file() or p.is_symlink())
    for path in files:
        if path.is_symlink():
            raise InvalidSpec(
                f"{path} is a symlink: packages may hold only regular files (copy the target in)"
            )
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(source).as_posix())
    partial.replace(archive)
    return archive


def check_entries(zf: zipfile.ZipFile) -> None:
    """Raise ZipSlip / SymlinkEntry / UnsafeArchive for the first entry that is not safe to extract."""
    for info in zf.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise ZipSlip(f"archive entry {name!r} would be written outside the package directory")
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            raise SymlinkEntry(
                f"archive entry {name!r} is a symlink; packages may hold only files and directories"
            )
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchive(f"archive entry {name!r} is a special file (mode {oct(mode)})")


def safe_extract(archive: Path | str, target: Path) -> int:
    """Extract every entry of ``archive`` into the (new, empty) directory ``target``; returns files written."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise InvalidSpec(f"{archive} is not a zip archive: {e}") from e
    with zf:
        check_entries(zf)
        root = target.resolve()
        written = 0
        for info in zf.infolist():
            dest = (root / info.filename.replace("\\", "/")).resolve()
            if not dest.is_relative_to(root):  # belt and braces after check_entries
                raise ZipSlip(f"archive entry {info.filename!r} resolves outside the package directory")
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                dest.chmod(mode | 0o600)  # keep exec bits; the agent must be able to replace it later
            written += 1
        return written
