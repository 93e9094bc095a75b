"""Directory sync in both directions: only what differs crosses (against Azurite)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hpcburst.data import sync_down, sync_up
from hpcburst.data.sync import refuse_escape
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.blob.port import BlobInfo


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_sync_up_then_down_copies_a_tree_and_then_only_changes(
    store: AzureBlobStore, container: str, tmp_path: Path
) -> None:
    src = tree(tmp_path / "src", {"a.txt": b"a" * 10, "sub/b.bin": os.urandom(5000), "sub/deep/c": b""})
    first = sync_up(store, src, container, "proj", block_size=1024)
    assert first.transferred == ["a.txt", "sub/b.bin", "sub/deep/c"]
    assert sorted(b.name for b in store.list(container, "proj/")) == [
        "proj/a.txt",
        "proj/sub/b.bin",
        "proj/sub/deep/c",
    ]

    again = sync_up(store, src, container, "proj", block_size=1024)
    assert again.transferred == [] and again.bytes_transferred == 0

    (src / "a.txt").write_bytes(b"changed!!!")
    changed = sync_up(store, src, container, "proj", block_size=1024)
    assert changed.transferred == ["a.txt"] and changed.bytes_transferred == 10

    dst = tmp_path / "dst"
    down = sync_down(store, container, "proj", dst)
    assert down.transferred == ["a.txt", "sub/b.bin", "sub/deep/c"]
    assert {p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file()} == set(down.transferred)
    assert (dst / "sub/b.bin").read_bytes() == (src / "sub/b.bin").read_bytes()
    assert sync_down(store, container, "proj", dst).transferred == []


def test_sync_with_delete_mirrors_removals(store: AzureBlobStore, container: str, tmp_path: Path) -> None:
    src = tree(tmp_path / "src", {"keep": b"1", "drop": b"2"})
    sync_up(store, src, container, "m")
    dst = tmp_path / "dst"
    sync_down(store, container, "m", dst)
    (src / "drop").unlink()
    assert sync_up(store, src, container, "m", delete=True).deleted == ["drop"]
    assert sync_down(store, container, "m", dst, delete=True).deleted == ["drop"]
    assert sorted(p.name for p in dst.iterdir()) == ["keep"]


def test_blob_names_escaping_the_directory_are_refused() -> None:
    # Storage normalises "..", so such names come only from other stores; the check stays cheap.
    for rel in ("../evil", "a/../../evil", "/etc/passwd", ""):
        with pytest.raises(InvalidSpec, match="outside the target directory"):
            refuse_escape(rel, BlobInfo("c", "p/" + rel, 1, "e"))
    refuse_escape("a/b..c/d", BlobInfo("c", "p/a/b..c/d", 1, "e"))


def test_sync_up_of_a_missing_directory_says_so(
    store: AzureBlobStore, container: str, tmp_path: Path
) -> None:
    with pytest.raises(NotFound, match="local directory"):
        sync_up(store, tmp_path / "nope", container, "x")
