"""Content hashes for transfers: whole-file sha256 and the block ids derived from block content.

A block id names a block by its position and the sha256 of its raw content (plus whether the
upload compresses), so the same bytes at the same place always get the same id. That single rule
gives both resume (a staged block with the id is already there) and delta re-upload (a committed
block with the id is reused by the new block list).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HASH_CHUNK = 1 << 20
MAX_BLOCKS = 50_000  # Azure's limit of committed blocks per blob


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def block_id(index: int, digest: str, compressed: bool) -> str:
    """The id of block ``index`` whose raw content hashes to ``digest`` (58 ASCII chars)."""
    return f"{index:05d}.{'z' if compressed else 'r'}.{digest[:50]}"


def block_count(size: int, block_size: int) -> int:
    return (size + block_size - 1) // block_size
