"""The in-memory state store: a first-class fake for fast pure tests, held to the same contract suite.

Bodies are kept as JSON text, so callers never share mutable state with the store and a body
that SQLite or Cosmos would refuse is refused here too. One lock serialises every operation;
``batch`` applies its writes to a copy and swaps it in only if all succeed (atomic, as SQLite).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hpcburst import constants as c
from hpcburst.errors import Conflict, NotFound
from hpcburst.storage.state import rules
from hpcburst.storage.state.port import Document, Page, WriteOp

Rows = dict[tuple[str, str], tuple[str, str]]  # (partition, id) -> (etag, body as JSON)


def _rank(value: Any) -> tuple[int, Any]:
    """Order values across types as SQLite does: numbers before text."""
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _matches(body: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    for name, wanted in where.items():
        value = body.get(name)
        if value is None:
            return False
        if isinstance(wanted, list | tuple):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


class MemoryStateStore:
    """A StateStore in a dict; thread-safe, not shared between processes."""

    def __init__(self) -> None:
        self._tables: dict[str, Rows] = {name: {} for name in c.INDEXED_FIELDS}
        self._lock = threading.Lock()

    def close(self) -> None:
        pass

    def get(self, container: str, partition: str, id: str) -> Document:
        rules.check_container(container)
        with self._lock:
            row = self._tables[container].get((partition, id))
        if row is None:
            raise NotFound(f"{container}/{partition}/{id} not found")
        return Document(partition, id, json.loads(row[1]), row[0])

    def create(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document:
        return self._write(container, partition, WriteOp("create", id, dict(body)))

    def replace(
        self, container: str, partition: str, id: str, body: Mapping[str, Any], if_match: str | None = None
    ) -> Document:
        return self._write(container, partition, WriteOp("replace", id, dict(body), if_match))

    def upsert(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document:
        return self._write(container, partition, WriteOp("upsert", id, dict(body)))

    def delete(self, container: str, partition: str, id: str, if_match: str | None = None) -> None:
        self._write(container, partition, WriteOp("delete", id, if_match=if_match))

    def batch(self, container: str, partition: str, ops: Sequence[WriteOp]) -> list[Document | None]:
        rules.check_container(container)
        rules.check_batch(ops)
        with self._lock:
            draft = dict(self._tables[container])
            docs = [self._apply(draft, container, partition, op) for op in ops]
            self._tables[container] = draft
        return rules.batch_results(ops, docs)

    def _write(self, container: str, partition: str, op: WriteOp) -> Document:
        rules.check_container(container)
        with self._lock:
            return self._apply(self._tables[container], container, partition, op)

    @staticmethod
    def _apply(rows: Rows, container: str, partition: str, op: WriteOp) -> Document:
        rules.check_write(partition, op)
        key, where = (partition, op.id), f"{container}/{partition}/{op.id}"
        current = rows.get(key)
        if op.kind == "create" and current is not None:
            raise Conflict(f"{where} already exists")
        if op.kind in ("replace", "delete"):
            if current is None:
                raise NotFound(f"{where} not found")
            if op.if_match is not None and op.if_match != current[0]:
                raise Conflict(f"{where} changed since etag {op.if_match}")
        etag = rules.new_etag()
        if op.kind == "delete":
            del rows[key]
        else:
            rows[key] = (etag, rules.encode_body(op.body))
        return Document(partition, op.id, dict(op.body), etag)

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
        rules.check_query(container, where, order_by, limit)
        docs = self._select(container, partition, where or {})
        if order_by:
            docs = [d for d in docs if d.body.get(order_by) is not None]
        raw_key: Callable[[Document], list[Any]] = (
            (lambda d: [d.body[order_by], d.partition, d.id]) if order_by else (lambda d: [d.partition, d.id])
        )

        def sort_key(d: Document) -> list[tuple[int, Any]]:
            return [_rank(v) for v in raw_key(d)]

        docs.sort(key=sort_key, reverse=descending)
        if continuation is not None:  # keyset: only documents strictly after the last one returned
            after = [_rank(v) for v in rules.decode_continuation(continuation, 3 if order_by else 2)]
            docs = [d for d in docs if (sort_key(d) < after if descending else sort_key(d) > after)]
        page = docs[:limit]
        token = rules.encode_continuation(raw_key(page[-1])) if len(docs) > limit else None
        return Page(page, token)

    def count(
        self, container: str, partition: str | None = None, where: Mapping[str, Any] | None = None
    ) -> int:
        rules.check_query(container, where, None, 1)
        return len(self._select(container, partition, where or {}))

    def _select(self, container: str, partition: str | None, where: Mapping[str, Any]) -> list[Document]:
        with self._lock:
            rows = list(self._tables[container].items())
        docs = []
        for (pk, id), (etag, text) in rows:
            if partition is not None and pk != partition:
                continue
            body = json.loads(text)
            if _matches(body, where):
                docs.append(Document(pk, id, body, etag))
        return docs
