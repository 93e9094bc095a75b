"""The blob store port: block blobs in containers, with the block-level primitives transfers need.

Contracts (tests/storage/test_blob_contract.py):
- ``get``/``properties``/``download_range`` of a missing blob raise ``NotFound``.
- ``put`` with ``if_none_match=True`` raises ``Conflict`` when the blob exists.
- ``stage_block`` stores an uncommitted block; ``uncommitted_blocks`` lists them (so an interrupted
  upload resumes without re-sending); ``commit_blocks`` makes the listed blocks the blob's content.
- ``committed_blocks`` lists the committed blocks of a blob (id, size), in order.
- block ids are 1..``MAX_BLOCK_ID`` ASCII characters (``check_block_id``); ids of one blob may differ in length.
- metadata keys are case-insensitive ASCII identifiers, so ``BlobInfo.metadata`` holds them lowercased
  (``lower_keys``) and readers look them up by their lowercase name; values are ASCII strings.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from hpcburst.errors import InvalidSpec

MAX_BLOCK_ID = 60  # what Azure's 64-byte block ids leave once the adapter fixes their width (azure.py)


@dataclass(frozen=True)
class BlobInfo:
    container: str
    name: str
    size: int
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)  # keys lowercased
    last_modified: float | None = None  # epoch seconds


@dataclass(frozen=True)
class BlockInfo:
    id: str  # the caller's block id (plain string; adapters handle encoding)
    size: int


def lower_keys(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata as ``BlobInfo`` carries it: keys lowercased, since storage compares them case-insensitively."""
    return {k.lower(): v for k, v in (metadata or {}).items()}


def check_block_id(block_id: str) -> None:
    """InvalidSpec for a block id no adapter can store (every adapter applies the same rule)."""
    if not block_id or len(block_id) > MAX_BLOCK_ID or not block_id.isascii():
        raise InvalidSpec(f"block id {block_id!r}: use 1..{MAX_BLOCK_ID} ASCII characters")


class BlobStore(Protocol):
    def ensure_container(self, container: str) -> None: ...

    def put(
        self,
        container: str,
        name: str,
        data: bytes,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
    ) -> BlobInfo: ...

    def get(self, container: str, name: str) -> bytes: ...

    def download_range(self, container: str, name: str, offset: int, length: int) -> bytes: ...

    def properties(self, container: str, name: str) -> BlobInfo: ...

    def set_metadata(self, container: str, name: str, metadata: Mapping[str, str]) -> None: ...

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]: ...

    def delete(self, container: str, name: str) -> None: ...

    def stage_block(self, container: str, name: str, block_id: str, data: bytes) -> None: ...

    def commit_blocks(
        self, container: str, name: str, block_ids: Sequence[str], metadata: Mapping[str, str] | None = None
    ) -> BlobInfo: ...

    def uncommitted_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]: ...

    def committed_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]: ...

    def sas_url(
        self,
        container: str,
        name: str | None = None,
        permission: str = "r",
        expiry: timedelta = timedelta(hours=1),
    ) -> str:
        """A URL granting ``permission`` (e.g. "r", "rw", "racwdl") on a blob, or on the container if name is None."""
        ...
