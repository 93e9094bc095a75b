"""The state store port: JSON documents addressed by (container, partition, id).

Contracts every adapter keeps (proven by tests/storage/test_state_contract.py):
- ``etag`` is opaque and changes on every write of a document.
- ``create`` raises ``Conflict`` if the id exists in that partition.
- ``replace``/``delete`` with ``if_match`` raise ``Conflict`` when the stored etag differs (a lost
  race is never a silent overwrite), ``NotFound`` when the document is missing.
- ``get`` raises ``NotFound`` for a missing document.
- ``query`` filters by equality on top-level fields listed in ``constants.INDEXED_FIELDS``
  (plus optional ``in`` lists), orders by one indexed field, and pages with an opaque continuation.
  No GROUP BY, DISTINCT, OFFSET or LIKE: Cosmos and its emulator must both answer.
- ``batch`` applies up to 100 writes (``rules.MAX_BATCH_OPS``, Cosmos DB's limit) to ONE partition;
  SQLite applies them atomically, Cosmos as a transactional batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Document:
    """One stored JSON document. ``body`` holds the caller's fields (never id/pk/etag)."""

    partition: str
    id: str
    body: dict[str, Any]
    etag: str | None = None


@dataclass(frozen=True)
class WriteOp:
    """One write inside ``StateStore.batch``: create, replace (optionally if_match), upsert or delete."""

    kind: Literal["create", "replace", "upsert", "delete"]
    id: str
    body: dict[str, Any] = field(default_factory=dict)
    if_match: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Document]
    continuation: str | None  # None when there are no more pages


class StateStore(Protocol):
    def get(self, container: str, partition: str, id: str) -> Document: ...

    def create(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document: ...

    def replace(
        self, container: str, partition: str, id: str, body: Mapping[str, Any], if_match: str | None = None
    ) -> Document: ...

    def upsert(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document: ...

    def delete(self, container: str, partition: str, id: str, if_match: str | None = None) -> None: ...

    def batch(self, container: str, partition: str, ops: Sequence[WriteOp]) -> list[Document | None]: ...

    def query(
        self,
        container: str,
        partition: str | None = None,
        where: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 100,
        continuation: str | None = None,
    ) -> Page:
        """``where`` maps field -> value (equality) or field -> list/tuple (IN). ``partition=None`` spans all."""
        ...

    def count(
        self, container: str, partition: str | None = None, where: Mapping[str, Any] | None = None
    ) -> int: ...

    def close(self) -> None: ...


def query_all(store: StateStore, container: str, **kwargs: Any) -> Iterator[Document]:
    """Every document a query matches, following continuations (written once for all adapters)."""
    continuation: str | None = None
    while True:
        page = store.query(container, continuation=continuation, **kwargs)
        yield from page.items
        if page.continuation is None:
            return
        continuation = page.continuation
