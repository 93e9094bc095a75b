"""The embedded state store: one SQLite file, one table per container, bodies as JSON text.

Safe under concurrent writers: every thread (and every process) has its own connection, the file is
in WAL mode with a busy timeout, and each write is one statement (or one ``BEGIN IMMEDIATE``
transaction for ``batch``), so compare-and-set is decided by SQLite itself.

Durability trade-off: ``synchronous=NORMAL`` under WAL does not fsync on every commit. A committed
write survives the process being killed (what we promise); only an OS crash or power loss can lose
the last commits. That is what makes thousands of task-state updates per second possible.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from hpcburst import constants as c
from hpcburst.errors import Conflict, NotFound
from hpcburst.storage.state import rules
from hpcburst.storage.state.port import Document, Page, WriteOp

BUSY_TIMEOUT_MS = 30_000


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (sqlite3.Connection itself cannot)."""


class _Missed(Exception):
    """A batched statement changed fewer rows than it had ops: replay one by one to find which."""


def _field(name: str) -> str:
    # The exact expression the indexes are built on: queries must spell it the same way to use them.
    return f"json_extract(body, '$.{name}')"


def _index_hint(
    container: str, partition: str | None, where: Mapping[str, Any] | None, order_by: str | None = None
) -> str:
    """Within a partition, filter through the (field, pk) index: without statistics SQLite would
    pick the primary key (pk=?) and read every document of the partition (a 100k-index job).
    Filtered by state alone and ordered by a sparse field (``constants.SPARSE_FIELDS``): walk that
    field's index in order and stop at the limit, instead of reading every match to sort it."""
    if partition is None or not where:
        return ""
    if order_by in c.SPARSE_FIELDS.get(container, ()) and set(where) == {"state"}:
        return f' INDEXED BY "{container}_{order_by}"'
    name = next((n for n in where if n != "state"), next(iter(where)))  # state is the least selective
    return f' INDEXED BY "{container}_{name}"'


def _schema(container: str, fields: Sequence[str]) -> list[str]:
    statements = [
        f'CREATE TABLE IF NOT EXISTS "{container}" (pk TEXT NOT NULL, id TEXT NOT NULL, '
        "etag TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (pk, id)) WITHOUT ROWID"
    ]
    # (field, pk) + the primary key serves equality across or within partitions and keyset paging by field.
    for name in fields:
        statements.append(
            f'CREATE INDEX IF NOT EXISTS "{container}_{name}" ON "{container}" ({_field(name)}, pk)'
        )
    return statements


class SqliteStateStore:
    """A StateStore on one SQLite file (created with its schema on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Weak: a thread's connection closes when the thread ends (its thread-local goes away).
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        conn = self._conn()
        with self._transaction(conn):
            for container, fields in c.INDEXED_FIELDS.items():
                for statement in _schema(container, fields):
                    conn.execute(statement)

    # --- connections ---
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            factory=_Connection,
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._connections.add(conn)
        return conn

    class _transaction:
        """BEGIN IMMEDIATE (take the write lock up front, so two writers never deadlock) ... COMMIT."""

        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    @property
    def open_connections(self) -> int:
        """Connections still open (one per live thread that used the store): for tests and diagnostics."""
        with self._lock:
            return len(self._connections)

    def close(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections), weakref.WeakSet()
        for conn in connections:
            conn.close()
        self._local = threading.local()

    # --- single writes: one statement each, atomic on their own ---
    def get(self, container: str, partition: str, id: str) -> Document:
        rules.check_container(container)
        row = (
            self._conn()
            .execute(f'SELECT etag, body FROM "{container}" WHERE pk = ? AND id = ?', (partition, id))
            .fetchone()
        )
        if row is None:
            raise NotFound(f"{container}/{partition}/{id} not found")
        return Document(partition, id, json.loads(row[1]), row[0])

    def create(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document:
        return self._apply(self._conn(), container, partition, WriteOp("create", id, dict(body)))

    def replace(
        self, container: str, partition: str, id: str, body: Mapping[str, Any], if_match: str | None = None
    ) -> Document:
        op = WriteOp("replace", id, dict(body), if_match)
        return self._apply(self._conn(), container, partition, op)

    def upsert(self, container: str, partition: str, id: str, body: Mapping[str, Any]) -> Document:
        return self._apply(self._conn(), container, partition, WriteOp("upsert", id, dict(body)))

    def delete(self, container: str, partition: str, id: str, if_match: str | None = None) -> None:
        self._apply(self._conn(), container, partition, WriteOp("delete", id, if_match=if_match))

    def batch(self, container: str, partition: str, ops: Sequence[WriteOp]) -> list[Document | None]:
        """All ops in one transaction: either every op applies or none does (the first failure is raised).

        Fast path: runs of same-shaped statements go through ``executemany``. If any op misses (a lost
        race, a missing or existing id), the transaction is rolled back and replayed op by op, which
        raises the exact error of the first failing op (or commits, if a concurrent writer fixed it).
        """
        rules.check_container(container)
        rules.check_batch(ops)
        statements = [self._statement(container, partition, op) for op in ops]
        conn = self._conn()
        try:
            with self._transaction(conn):
                for sql, run in groupby(statements, key=lambda st: st[0]):
                    rows = [st[1] for st in run]
                    changed = conn.executemany(sql, rows).rowcount
                    if not sql.startswith("INSERT") and changed != len(rows):
                        raise _Missed
        except (_Missed, sqlite3.IntegrityError):
            with self._transaction(conn):
                docs = [self._apply(conn, container, partition, op) for op in ops]
            return rules.batch_results(ops, docs)
        docs = [
            Document(partition, op.id, dict(op.body), st[2]) for op, st in zip(ops, statements, strict=True)
        ]
        return rules.batch_results(ops, docs)

    def _apply(self, conn: sqlite3.Connection, container: str, partition: str, op: WriteOp) -> Document:
        """Run one write as one statement; the returned document carries the new etag."""
        rules.check_container(container)
        sql, params, etag = self._statement(container, partition, op)
        try:
            changed = conn.execute(sql, params).rowcount
        except sqlite3.IntegrityError:
            raise Conflict(f"{container}/{partition}/{op.id} already exists") from None
        if changed == 0:
            self._raise_missed(conn, container, partition, op)
        return Document(partition, op.id, dict(op.body), etag)

    @staticmethod
    def _statement(container: str, partition: str, op: WriteOp) -> tuple[str, list[Any], str]:
        """The SQL, parameters and new etag of one write (the table name is a checked container)."""
        rules.check_write(partition, op)
        table, etag = f'"{container}"', rules.new_etag()
        if op.kind == "delete":
            sql, params = f"DELETE FROM {table} WHERE pk = ? AND id = ?", [partition, op.id]
        elif op.kind == "create":
            sql = f"INSERT INTO {table} (pk, id, etag, body) VALUES (?, ?, ?, ?)"
            params = [partition, op.id, etag, rules.encode_body(op.body)]
        elif op.kind == "upsert":
            sql = (
                f"INSERT INTO {table} (pk, id, etag, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (pk, id) DO UPDATE SET etag = excluded.etag, body = excluded.body"
            )
            params = [partition, op.id, etag, rules.encode_body(op.body)]
        else:  # replace
            sql = f"UPDATE {table} SET etag = ?, body = ? WHERE pk = ? AND id = ?"
            params = [etag, rules.encode_body(op.body), partition, op.id]
        if op.if_match is not None and op.kind in ("replace", "delete"):
            sql, params = sql + " AND etag = ?", [*params, op.if_match]
        return sql, params, etag

    def _raise_missed(self, conn: sqlite3.Connection, container: str, partition: str, op: WriteOp) -> None:
        """A conditional write touched nothing: the document is gone (NotFound) or changed (Conflict)."""
        exists = conn.execute(
            f'SELECT 1 FROM "{container}" WHERE pk = ? AND id = ?', (partition, op.id)
        ).fetchone()
        if exists is None:
            raise NotFound(f"{container}/{partition}/{op.id} not found")
        raise Conflict(f"{container}/{partition}/{op.id} changed since etag {op.if_match}")

    # --- reads ---
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
        clauses, params = self._filters(partition, where)
        keys = [_field(order_by), "pk", "id"] if order_by else ["pk", "id"]
        if order_by:
            clauses.append(
                f"{keys[0]} IS NOT NULL"
            )  # documents lacking the field are not ordered (as in Cosmos)
        if continuation is not None:
            after = rules.decode_continuation(continuation, len(keys))
            clauses.append(f"({', '.join(keys)}) {'<' if descending else '>'} ({', '.join('?' * len(keys))})")
            params.extend(after)
        direction = " DESC" if descending else ""
        order = ", ".join(k + direction for k in keys)
        columns = f"pk, id, etag, body{', ' + keys[0] if order_by else ''}"
        table = f'"{container}"{_index_hint(container, partition, where, order_by)}'
        sql = f"SELECT {columns} FROM {table}{self._where_sql(clauses)} ORDER BY {order} LIMIT ?"
        rows = self._conn().execute(sql, [*params, limit + 1]).fetchall()
        items = [Document(r[0], r[1], json.loads(r[3]), r[2]) for r in rows[:limit]]
        token = None
        if len(rows) > limit:
            last = rows[limit - 1]
            token = rules.encode_continuation([last[4], last[0], last[1]] if order_by else [last[0], last[1]])
        return Page(items, token)

    def count(
        self, container: str, partition: str | None = None, where: Mapping[str, Any] | None = None
    ) -> int:
        rules.check_query(container, where, None, 1)
        clauses, params = self._filters(partition, where)
        row = (
            self._conn()
            .execute(
                f'SELECT COUNT(*) FROM "{container}"{_index_hint(container, partition, where)}'
                f"{self._where_sql(clauses)}",
                params,
            )
            .fetchone()
        )
        return int(row[0])

    @staticmethod
    def _filters(partition: str | None, where: Mapping[str, Any] | None) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if partition is not None:
            clauses.append("pk = ?")
            params.append(partition)
        for name, value in (where or {}).items():
            if isinstance(value, list | tuple):
                clauses.append(f"{_field(name)} IN ({', '.join('?' * len(value))})" if value else "0")
                params.extend(value)
            else:
                clauses.append(f"{_field(name)} = ?")
                params.append(value)
        return clauses, params

    @staticmethod
    def _where_sql(clauses: list[str]) -> str:
        return " WHERE " + " AND ".join(clauses) if clauses else ""
