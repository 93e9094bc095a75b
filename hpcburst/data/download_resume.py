"""Where an interrupted download picks up: the partial file beside the target, and a note of which blob
version it holds.

A download writes its blocks in order to ``.NAME.hpcburst-partial`` beside the target, after noting the
blob (container, path, etag) in ``.NAME.hpcburst-partial.json``. When the download dies (a crash, a kill, a
dropped connection), both stay. The next download of the same blob to the same target, if the etag still
matches, keeps the longest prefix of whole blocks the file holds, re-checks each against its recorded sha256
(blobs without a manifest: the etag is the only check, and the whole file is hashed as before), and fetches
only the rest. A changed blob, a missing note or a block that no longer matches starts over from nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hpcburst.data.hashing import sha256_bytes
from hpcburst.storage.blob.port import BlobInfo

PARTIAL_SUFFIX = ".hpcburst-partial"


class Block(Protocol):
    @property
    def raw_size(self) -> int: ...

    @property
    def digest(self) -> str | None: ...  # None: nothing recorded to check it against


@dataclass
class Resume:
    partial: Path
    blocks: int  # whole blocks already in the partial file, checked
    raw_bytes: int  # their size
    whole: Any  # sha256 of those bytes, to continue with


def partial_path(local: Path) -> Path:
    return local.with_name(f".{local.name}{PARTIAL_SUFFIX}")


def _note_path(partial: Path) -> Path:
    return partial.with_name(partial.name + ".json")


def _identity(info: BlobInfo) -> dict[str, str]:
    return {"container": info.container, "path": info.name, "etag": info.etag}


def resume_point(local: Path, info: BlobInfo, blocks: list[Block]) -> Resume:
    """What an earlier, interrupted download of ``info`` to ``local`` left that can be kept (maybe nothing).

    On return the partial file holds exactly the kept prefix and the note names ``info``: ready to append."""
    partial = partial_path(local)
    kept = Resume(partial, 0, 0, hashlib.sha256())
    if _read_note(partial) == _identity(info):
        kept = _check_prefix(partial, blocks)
    if kept.blocks == 0:
        partial.unlink(missing_ok=True)
        _write_note(partial, info)
    with open(partial, "ab") as f:
        f.truncate(kept.raw_bytes)  # drop a torn block at the end
    return kept


def forget(local: Path) -> None:
    """Drop what a failed download left (its bytes cannot be trusted, or the download completed)."""
    partial = partial_path(local)
    partial.unlink(missing_ok=True)
    _note_path(partial).unlink(missing_ok=True)


def _check_prefix(partial: Path, blocks: list[Block]) -> Resume:
    whole = hashlib.sha256()
    done = raw = 0
    try:
        with open(partial, "rb") as f:
            for block in blocks:
                data = f.read(block.raw_size)
                if len(data) < block.raw_size or (block.digest and sha256_bytes(data) != block.digest):
                    break
                whole.update(data)
                done, raw = done + 1, raw + block.raw_size
    except FileNotFoundError:
        pass
    return Resume(partial, done, raw, whole)


def _read_note(partial: Path) -> dict[str, str] | None:
    try:
        note = json.loads(_note_path(partial).read_text())
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _write_note(partial: Path, info: BlobInfo) -> None:
    note = _note_path(partial)
    tmp = note.with_name(note.name + ".tmp")
    tmp.write_text(json.dumps(_identity(info)))
    os.replace(tmp, note)
