"""Store batches hold at most 100 writes (Cosmos DB's transactional batch limit, kept by every adapter)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

BATCH_OPS = 100
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = BATCH_OPS) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
