"""The node cache under a size cap (``--cache-max``): least recently used entries go first, never one that is
being placed or is linked into a task's directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hpcburst.data.staging import NodeCache
from hpcburst.errors import ConfigError
from hpcburst.storage.blob.memory import MemoryBlobStore
from nodeagent.main import make_config

KiB = 1024
C = "hpc-data"


@pytest.fixture
def blobs() -> MemoryBlobStore:
    store = MemoryBlobStore()
    store.ensure_container(C)
    for name in "abcde":
        store.put(C, name, os.urandom(KiB))  # no hpcburst manifest: keyed by location and etag
    return store


def cached(cache: NodeCache) -> set[str]:
    """The blob names whose entries are in the cache (entry files hold the blob's bytes)."""
    found = set()
    for entry in (cache.root / "objects").glob("*/*"):
        if not entry.name.startswith("."):
            found |= {n for n in "abcde" if cache.store.get(C, n) == entry.read_bytes()}
    return found


def test_the_least_recently_used_entry_makes_room(blobs: MemoryBlobStore, tmp_path: Path) -> None:
    cache = NodeCache(tmp_path / "cache", blobs, link=False, max_bytes=3 * KiB)
    for name in "abc":
        cache.fetch(C, name)
    cache.fetch(C, "a")  # a hit: a is now the most recently used
    cache.fetch(C, "d")
    assert cached(cache) == {"a", "c", "d"} and cache.evicted == 1
    cache.fetch(C, "e")
    assert cached(cache) == {"a", "d", "e"}


def test_without_a_cap_nothing_is_evicted(blobs: MemoryBlobStore, tmp_path: Path) -> None:
    cache = NodeCache(tmp_path / "cache", blobs, link=False)
    for name in "abcde":
        cache.fetch(C, name)
    assert cached(cache) == set("abcde") and cache.evicted == 0


def test_an_input_linked_into_a_task_directory_is_never_evicted(
    blobs: MemoryBlobStore, tmp_path: Path
) -> None:
    cache = NodeCache(tmp_path / "cache", blobs, link=True, max_bytes=2 * KiB)
    running = tmp_path / "task-1"  # a running task's input: hard-linked to its entry
    cache.stage_inputs([{"blob": f"{C}/a", "path": "in/a.bin"}], running)
    assert (running / "in" / "a.bin").stat().st_nlink == 2
    for name in "bcde":
        cache.fetch(C, name)
    assert "a" in cached(cache)  # the oldest entry, kept: a task uses it
    assert (running / "in" / "a.bin").read_bytes() == blobs.get(C, "a")
    assert len(cached(cache)) == 2  # the rest stayed under the cap


def test_the_cap_is_exceeded_rather_than_evict_what_tasks_use(blobs: MemoryBlobStore, tmp_path: Path) -> None:
    cache = NodeCache(tmp_path / "cache", blobs, link=True, max_bytes=2 * KiB)
    for i, name in enumerate("abc"):
        cache.stage_inputs([{"blob": f"{C}/{name}", "path": "x.bin"}], tmp_path / f"task-{i}")
    assert cached(cache) == {"a", "b", "c"} and cache.evicted == 0


def test_an_entry_being_placed_is_not_evicted_by_another_slot(blobs: MemoryBlobStore, tmp_path: Path) -> None:
    cache = NodeCache(tmp_path / "cache", blobs, link=False, max_bytes=1 * KiB)
    other_slot = NodeCache(tmp_path / "cache", blobs, link=False, max_bytes=1 * KiB)
    with cache.using(C, "a") as entry:
        other_slot.fetch(C, "b")  # would evict a, were it not being placed
        assert entry.read_bytes() == blobs.get(C, "a")
    other_slot.fetch(C, "c")  # placed: a may go now
    assert "a" not in cached(cache)


def test_the_agent_takes_cache_max_as_a_size() -> None:
    config = make_config(
        "http://127.0.0.1:7071", node="n1", workdir="/tmp/hpcburst-cache-test", cache_max="20G"
    )
    assert config.cache_max == 20 << 30
    assert (
        make_config("http://127.0.0.1:7071", node="n1", workdir="/tmp/hpcburst-cache-test").cache_max is None
    )
    with pytest.raises(ConfigError, match="--cache-max"):
        make_config("http://127.0.0.1:7071", node="n1", workdir="/tmp/hpcburst-cache-test", cache_max="lots")
