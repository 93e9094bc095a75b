"""The package registry (hpcpack): versioned application zips in blob storage, readable by agents.

Everything lives in ``constants.BLOB_PACKAGES`` so a node needs nothing but blob access:
- ``{name}/sha256-{digest}.zip``: the archive, content-addressed, uploaded with the verified transfer;
- ``{name}/v{version:06d}.json``: one record per version (name, version, pool, relative_path,
  sha256, size, archive, uploaded_at). Versions are claimed by creating the record with
  ``if_none_match``: two uploaders racing for the same number get one ``Conflict`` and the loser
  takes the next number, so versions are never overwritten. The record also rides in the blob's
  metadata (``META_RECORD``), so listing the registry is one blob listing, not one read per version:
  a node re-checks it every half minute.

A record with ``pool=None`` applies to every pool; ``newest_for_pool`` picks, per package, the
highest version whose pool is None or the node's pool.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hpcburst.constants import BLOB_PACKAGES
from hpcburst.data.hashing import sha256_file
from hpcburst.data.manifest import MANIFEST_PREFIX
from hpcburst.data.package_archive import create_zip
from hpcburst.data.transfer_upload import ensure_container, upload
from hpcburst.domain.staging import check_relative
from hpcburst.errors import Conflict, InvalidSpec, NotFound
from hpcburst.storage.blob.port import BlobStore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RECORD = re.compile(r"^(?P<name>[^/]+)/v(?P<version>\d{6})\.json$")
MAX_CLAIM_ATTEMPTS = 20
META_RECORD = "hpcburst_package"  # the record's JSON (ASCII: json.dumps escapes the rest)


@dataclass(frozen=True)
class PackageRecord:
    name: str
    version: int
    pool: str | None
    relative_path: str | None  # install dir under CCP_PACKAGE_ROOT; None = the package name
    sha256: str
    size: int
    archive: str  # blob name in BLOB_PACKAGES
    uploaded_at: float

    @property
    def install_dir(self) -> str:
        return self.relative_path or self.name

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> PackageRecord:
        return cls(**json.loads(raw))


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidSpec(
            f"package name {name!r}: use letters, digits, '.', '_' or '-' (at most 64, no leading '.')"
        )
    return name


def create_package(name: str, directory: Path | str, output: Path | str | None = None) -> Path:
    """Zip ``directory`` as package ``name`` (default ``NAME.zip`` in the current directory)."""
    return create_zip(directory, Path(output) if output else Path(f"{check_name(name)}.zip"))


def record_blob(name: str, version: int) -> str:
    return f"{name}/v{version:06d}.json"


def upload_package(
    store: BlobStore,
    name: str,
    archive: Path | str,
    pool: str | None = None,
    relative_path: str | None = None,
) -> PackageRecord:
    """Store ``archive`` as the next version of package ``name``; returns its record."""
    check_name(name)
    archive = Path(archive)
    if not archive.is_file():
        raise NotFound(
            f"package archive {archive} does not exist: run `hpcburst pkg create {name} DIR` first"
        )
    if relative_path is not None:
        check_relative(relative_path, "package relative path")
    ensure_container(store, BLOB_PACKAGES)
    digest = sha256_file(archive)
    blob = f"{name}/sha256-{digest}.zip"
    upload(store, archive, BLOB_PACKAGES, blob)
    version = max((r.version for r in list_packages(store, name)), default=0) + 1
    for _ in range(MAX_CLAIM_ATTEMPTS):
        record = PackageRecord(
            name, version, pool, relative_path, digest, archive.stat().st_size, blob, round(time.time(), 3)
        )
        try:
            raw = record.to_json()
            meta = {META_RECORD: raw.decode()}
            store.put(BLOB_PACKAGES, record_blob(name, version), raw, metadata=meta, if_none_match=True)
            return record
        except Conflict:
            version += 1  # another upload claimed this number first
    raise Conflict(f"package {name}: could not claim a version number after {MAX_CLAIM_ATTEMPTS} attempts")


def list_packages(store: BlobStore, name: str | None = None) -> list[PackageRecord]:
    """Every version record (of one package, or all), sorted by name then version."""
    prefix = f"{check_name(name)}/" if name else ""
    records = []
    for info in store.list(BLOB_PACKAGES, prefix):
        if info.name.startswith(MANIFEST_PREFIX) or not _RECORD.match(info.name):
            continue
        listed = info.metadata.get(META_RECORD)
        try:
            raw = listed.encode() if listed else store.get(BLOB_PACKAGES, info.name)  # older uploads: read it
        except NotFound:
            continue  # removed while listing
        records.append(PackageRecord.from_json(raw))
    return sorted(records, key=lambda r: (r.name, r.version))


def remove_package(store: BlobStore, name: str, version: int | None = None) -> list[PackageRecord]:
    """Remove one version (or all) of a package: records first, then archives nobody references."""
    records = list_packages(store, name)
    doomed = [r for r in records if version is None or r.version == version]
    if not doomed:
        which = f"version {version} of package {name!r}" if version else f"package {name!r}"
        raise NotFound(f"{which} is not in the registry (see `hpcburst pkg list`)")
    for r in doomed:
        store.delete(BLOB_PACKAGES, record_blob(r.name, r.version))
    kept = {r.archive for r in records if r not in doomed}
    for archive in {r.archive for r in doomed} - kept:
        try:
            store.delete(BLOB_PACKAGES, archive)
        except NotFound:
            pass
    return doomed


def newest_for_pool(records: list[PackageRecord], pool: str | None) -> dict[str, PackageRecord]:
    """Per package name, the newest version meant for ``pool`` (records with pool None fit every pool)."""
    chosen: dict[str, PackageRecord] = {}
    for r in records:
        if r.pool is None or r.pool == pool:
            if r.name not in chosen or r.version > chosen[r.name].version:
                chosen[r.name] = r
    return chosen
