"""The transfer manifest: per-block and whole-file hashes of an uploaded file, kept beside its blob.

Small manifests ride in the blob's metadata (zlib + base64 under ``hpcburst_manifest``); metadata is
capped at 8 KiB per blob, so larger ones go to a content-addressed manifest blob under
``MANIFEST_PREFIX`` in the same container, and the metadata holds its name and sha256. Either way
the metadata also carries the whole-file sha256 and size, so tools can compare without the manifest.

A block's stored encoding follows from its sizes: a compressed upload stores a block zlib-compressed
only when that is smaller, so ``stored_size < raw_size`` means zlib and equal means raw bytes.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from hpcburst.data.hashing import block_id, sha256_bytes
from hpcburst.errors import IntegrityError, NotFound
from hpcburst.storage.blob.port import BlobInfo, BlobStore

MANIFEST_PREFIX = ".hpcburst/manifests/"
META_SHA256 = "hpcburst_sha256"
META_SIZE = "hpcburst_size"
META_MTIME = "hpcburst_mtime_ns"
META_INLINE = "hpcburst_manifest"
META_BLOB = "hpcburst_manifest_blob"
META_BLOB_SHA256 = "hpcburst_manifest_sha256"
INLINE_LIMIT = 4000  # encoded chars; leaves room for the other keys under the 8 KiB metadata cap
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BlockEntry:
    digest: str  # sha256 of the raw block
    stored_size: int  # bytes in the blob (compressed or raw)


@dataclass(frozen=True)
class Manifest:
    size: int
    block_size: int
    sha256: str
    compress: bool
    blocks: tuple[BlockEntry, ...]

    def raw_size(self, index: int) -> int:
        return min(self.block_size, self.size - index * self.block_size)

    def block_ids(self) -> list[str]:
        return [block_id(i, b.digest, self.compress) for i, b in enumerate(self.blocks)]

    def to_json(self) -> bytes:
        body = {
            "version": FORMAT_VERSION,
            "size": self.size,
            "block_size": self.block_size,
            "sha256": self.sha256,
            "compress": self.compress,
            "blocks": [[b.digest, b.stored_size] for b in self.blocks],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        body = json.loads(raw)
        return cls(
            size=int(body["size"]),
            block_size=int(body["block_size"]),
            sha256=str(body["sha256"]),
            compress=bool(body["compress"]),
            blocks=tuple(BlockEntry(str(d), int(s)) for d, s in body["blocks"]),
        )


def manifest_metadata(
    store: BlobStore, container: str, path: str, manifest: Manifest, extra: Mapping[str, str]
) -> dict[str, str]:
    """The blob metadata recording ``manifest``; writes a manifest blob first when it is too large."""
    meta = dict(extra) | {META_SHA256: manifest.sha256, META_SIZE: str(manifest.size)}
    raw = manifest.to_json()
    inline = base64.b64encode(zlib.compress(raw, 9)).decode()
    if len(inline) <= INLINE_LIMIT:
        return meta | {META_INLINE: inline}
    digest = sha256_bytes(raw)
    name = f"{MANIFEST_PREFIX}{path}/{digest}.json"
    store.put(container, name, raw)  # content-addressed: never overwrites the manifest of a live blob
    return meta | {META_BLOB: name, META_BLOB_SHA256: digest}


def load_manifest(store: BlobStore, info: BlobInfo) -> Manifest | None:
    """The manifest recorded for a blob, None if it was not uploaded by hpcburst."""
    meta = info.metadata
    where = f"{info.container}/{info.name}"
    try:
        if META_INLINE in meta:
            return Manifest.from_json(zlib.decompress(base64.b64decode(meta[META_INLINE])))
        if META_BLOB in meta:
            raw = store.get(info.container, meta[META_BLOB])
            if sha256_bytes(raw) != meta.get(META_BLOB_SHA256):
                raise IntegrityError(f"manifest of {where} does not match its recorded sha256", blob=where)
            return Manifest.from_json(raw)
    except NotFound as e:
        raise IntegrityError(f"manifest of {where} is missing ({meta[META_BLOB]})", blob=where) from e
    except (ValueError, KeyError, TypeError, zlib.error) as e:
        raise IntegrityError(f"manifest of {where} is unreadable: {e}", blob=where) from e
    return None


def stale_manifest_blob(old: BlobInfo | None, new_meta: Mapping[str, str]) -> str | None:
    """The manifest blob a re-upload no longer references (to delete after the commit)."""
    if old is None:
        return None
    before = old.metadata.get(META_BLOB)
    return before if before and before != new_meta.get(META_BLOB) else None
