"""The durable journal of SOA sessions: request, response and acknowledgement batches in the state store.

One document per batch, written before the broker answers (requests) or hands out (responses) anything, so
a kill -9 at any point loses nothing acknowledged: a stored request is answered or pending again after
``load``; a stored response stays until an acknowledgement of it is stored. Every call is one write (more
only for a batch over ~1 MB); deleting finished docs and folding tombstones is ``compact``'s work, in
store batches, off the hot path. Indexes are updated after a write succeeds, so a failed write leaves them
as they were. Container ``constants.SOA``, partition = session id; see ``journal_rows`` for the shapes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.soa.protocol import RequestItem, StoredResponse
from hpcburst.errors import NotFound
from hpcburst.services.soa import journal_rows as rows
from hpcburst.services.soa.journal_index import SessionIndex
from hpcburst.storage.state.port import Document, StateStore, WriteOp, query_all
from hpcburst.storage.state.rules import MAX_BATCH_OPS

FOLD_AT = 8  # small ack docs a session gathers before compaction folds them into one


@dataclass
class Recovered:
    """A durable session as the store holds it, for the broker to restart from."""

    requests: list[tuple[str, RequestItem]] = field(default_factory=list)  # (client_id, item), no response
    responses: list[StoredResponse] = field(default_factory=list)  # not acknowledged, in stored order
    acknowledged: set[tuple[str, str]] = field(default_factory=set)  # (client_id, id): duplicates forever


class _Session:
    __slots__ = ("lock", "index")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: SessionIndex | None = None  # None: not read from the store yet


class Journal:
    """One per process, over the StateStore; thread-safe (a lock per session)."""

    def __init__(self, store: StateStore, *, max_doc_bytes: int = rows.MAX_DOC_BYTES) -> None:
        self._store, self._limit = store, max_doc_bytes
        self._writer = os.urandom(4).hex()
        self._sessions: dict[str, _Session] = {}
        self._guard = threading.Lock()

    # --- the hot path: one write per call ---
    def append_requests(self, session: str, client_id: str, items: Sequence[RequestItem]) -> None:
        if not items:
            return
        stored = [rows.request_row(item) for item in items]
        keys = [(client_id, item.id) for item in items]
        with self._indexed(session) as index:
            for run in rows.runs(stored, self._limit):
                id = self._create(session, index, rows.REQUESTS, {"c": client_id, "i": stored[run]})
                index.requests_stored(id, keys[run])

    def append_responses(self, session: str, items: Sequence[StoredResponse]) -> None:
        if not items:
            return
        stored = [rows.response_row(item) for item in items]
        keys = [(item.client_id, item.id) for item in items]
        with self._indexed(session) as index:
            for run in rows.runs(stored, self._limit):
                id = self._create(session, index, rows.RESPONSES, {"i": stored[run]})
                index.responses_stored(id, keys[run])

    def acknowledge(self, session: str, client_id: str, ids: Sequence[str]) -> None:
        """Store tombstones for the keys not acknowledged yet (no write when there are none)."""
        with self._indexed(session) as index:
            fresh = [id for _, id in index.fresh_acks([(client_id, id) for id in ids])]
            if not fresh:
                return
            for run in rows.runs(fresh, self._limit):
                part = fresh[run]
                id = self._create(session, index, rows.ACKS, {"i": [[client_id, part]]})
                index.acks_stored(id, [(client_id, i) for i in part], rows.ack_bytes(client_id, part))

    # --- restart, background, end ---
    def load(self, session: str) -> Recovered:
        """Rebuild the session's indexes from the store and say what is left to do."""
        with self._lock(session) as state:
            state.index, recovered = self._read(session)
            return recovered

    def compact(self, session: str) -> int:
        """Delete finished q/r docs and fold small ack docs; returns how many docs were deleted."""
        with self._indexed(session) as index:
            finished = [d.id for d in index.finished()]
            for start in range(0, len(finished), MAX_BATCH_OPS):
                part = finished[start : start + MAX_BATCH_OPS]
                self._delete(session, part)
                index.deleted(part)
            return len(finished) + self._fold(session, index)

    def purge(self, session: str) -> None:
        """Delete every soa doc of the session (this process's and any other's)."""
        with self._lock(session) as state:
            ids = [d.id for d in query_all(self._store, c.SOA, partition=session)]
            for start in range(0, len(ids), MAX_BATCH_OPS):
                self._delete(session, ids[start : start + MAX_BATCH_OPS])
            state.index = SessionIndex()

    def forget(self, session: str) -> None:
        """Drop the session's indexes from memory (its docs stay; the next call reads them again). The
        session's lock stays, so a call racing this one can never run beside a second lock's holder."""
        with self._lock(session) as state:
            state.index = None

    # --- helpers ---
    @contextmanager
    def _lock(self, session: str) -> Iterator[_Session]:
        with self._guard:
            state = self._sessions.setdefault(session, _Session())
        with state.lock:
            yield state

    @contextmanager
    def _indexed(self, session: str) -> Iterator[SessionIndex]:
        """The session's index under its lock, read from the store on first use in this process (one query
        per session, so a restarted process continues the seq and knows what a compaction may delete)."""
        with self._lock(session) as state:
            if state.index is None:
                state.index = self._read(session)[0]
            yield state.index

    def _create(self, session: str, index: SessionIndex, kind: str, body: dict[str, Any]) -> str:
        id = rows.doc_id(kind, index.take_seq(), self._writer)
        self._store.create(c.SOA, session, id, {"kind": kind, **body})
        return id

    def _delete(self, session: str, ids: list[str]) -> None:
        try:
            self._store.batch(c.SOA, session, [WriteOp("delete", id) for id in ids])
        except NotFound:  # one went already (another process purged): delete the rest one by one
            for id in ids:
                try:
                    self._store.delete(c.SOA, session, id)
                except NotFound:
                    pass

    def _fold(self, session: str, index: SessionIndex) -> int:
        """Rewrite groups of small ack docs as one doc each, in one store batch per group (create first)."""
        small = index.ack_docs()
        if len(small) < FOLD_AT:
            return 0
        deleted = 0
        by_id = {d.id: d for d in small}
        for group in rows.fold_groups([(d.id, d.size) for d in small], self._limit, MAX_BATCH_OPS - 1):
            keys = [k for id in group for k in by_id[id].keys]
            clients: dict[str, list[str]] = {}
            for client, id in keys:
                clients.setdefault(client, []).append(id)
            folded = rows.doc_id(rows.ACKS, index.take_seq(), self._writer)
            body = {"kind": rows.ACKS, "i": [[client, ids] for client, ids in clients.items()]}
            ops = [WriteOp("create", folded, body), *(WriteOp("delete", id) for id in group)]
            self._store.batch(c.SOA, session, ops)
            index.deleted(group)
            index.acks_stored(folded, keys, sum(by_id[id].size for id in group))
            deleted += len(group)
        return deleted

    def _read(self, session: str) -> tuple[SessionIndex, Recovered]:
        """Every doc of the session, indexed in the order that makes counts right: tombstones, then
        responses, then requests (each kind in arrival order)."""
        docs: dict[str, list[tuple[int, Document]]] = {kind: [] for kind in rows.KINDS}
        index, recovered = SessionIndex(), Recovered()
        for doc in query_all(self._store, c.SOA, partition=session):
            parsed = rows.parse_id(doc.id)
            if parsed is not None:
                docs[parsed[0]].append((parsed[1], doc))
                index.next_seq = max(index.next_seq, parsed[1] + 1)
        for _, doc in sorted(docs[rows.ACKS], key=_order):
            groups = rows.ack_groups(doc.body)
            keys = [(client, id) for client, ids in groups for id in ids]
            index.acks_stored(doc.id, keys, sum(rows.ack_bytes(client, ids) for client, ids in groups))
        for _, doc in sorted(docs[rows.RESPONSES], key=_order):
            items = doc.body["i"]
            first = index.responses_stored(doc.id, [(row[0], row[1]) for row in items])
            recovered.responses += [
                rows.stored_response(row) for row, ok in zip(items, first, strict=True) if ok
            ]
        for _, doc in sorted(docs[rows.REQUESTS], key=_order):
            client, items = doc.body["c"], doc.body["i"]
            pending = index.requests_stored(doc.id, [(client, row[0]) for row in items])
            recovered.requests += [
                (client, rows.request_item(r)) for r, ok in zip(items, pending, strict=True) if ok
            ]
        recovered.acknowledged = set(index.acked)
        return index, recovered


def _order(entry: tuple[int, Document]) -> tuple[int, str]:
    return entry[0], entry[1].id
