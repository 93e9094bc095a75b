"""How the journal's documents look in the store: compact rows, ids that sort by arrival, bounded sizes.

A ``q-`` doc is ``{"kind": "q", "c": client_id, "i": [[id, op, payload(, user_data)], ...]}``; an ``r-`` doc
``{"kind": "r", "i": [[client_id, id, ok, value(, fault, user_data)], ...]}``; an ``a-`` doc
``{"kind": "a", "i": [[client_id, [id, ...]], ...]}``. Lists, not dicts, per item: a batch of 256 small
requests is one small document, and the field names are not stored 256 times.
"""

from __future__ import annotations

import json
from typing import Any

from hpcburst.domain.soa.protocol import Fault, RequestItem, StoredResponse
from hpcburst.errors import PayloadTooLarge

REQUESTS, RESPONSES, ACKS = "q", "r", "a"
KINDS = (REQUESTS, RESPONSES, ACKS)
MAX_DOC_BYTES = 1_000_000  # a batch is split above this (Cosmos DB refuses items over 2 MB)
MAX_ITEM_BYTES = 1_900_000  # one item that alone would not fit a Cosmos DB item
SEQ_DIGITS = 12

Key = tuple[str, str]  # (client_id, request id)


def doc_id(kind: str, seq: int, writer: str) -> str:
    """``<kind>-<seq, zero-padded>-<writer>``: string order is arrival order; ``writer`` (unique per process)
    keeps two processes that ever pick the same seq from colliding."""
    return f"{kind}-{seq:0{SEQ_DIGITS}d}-{writer}"


def parse_id(id: str) -> tuple[str, int] | None:
    """(kind, seq) of a journal doc id; None for an id the journal did not write."""
    kind, _, rest = id.partition("-")
    seq = rest.partition("-")[0]
    if kind not in KINDS or not seq.isdigit():
        return None
    return kind, int(seq)


def request_row(item: RequestItem) -> list[Any]:
    row = [item.id, item.op, item.payload]
    if item.user_data is not None:
        row.append(item.user_data)
    return row


def request_item(row: list[Any]) -> RequestItem:
    # Validated when it came in; rebuilt without validating again (a restart may reload a million of them).
    user_data = row[3] if len(row) > 3 else None
    return RequestItem.model_construct(id=row[0], op=row[1], payload=row[2], user_data=user_data)


def response_row(item: StoredResponse) -> list[Any]:
    row = [item.client_id, item.id, item.ok, item.value]
    if item.fault is not None or item.user_data is not None:
        fault = None if item.fault is None else item.fault.model_dump(exclude_none=True)
        row += [fault, item.user_data]
    return row


def stored_response(row: list[Any]) -> StoredResponse:
    fault = Fault.model_validate(row[4]) if len(row) > 4 and row[4] is not None else None
    user_data = row[5] if len(row) > 5 else None
    return StoredResponse.model_construct(
        client_id=row[0], id=row[1], ok=row[2], value=row[3], fault=fault, user_data=user_data
    )


def ack_groups(body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(client, ids) for client, ids in body["i"]]


def runs(rows: list[Any], limit: int = MAX_DOC_BYTES) -> list[slice]:
    """Consecutive runs of ``rows`` whose JSON fits ``limit`` bytes: one run unless the batch is big.

    The whole batch is measured once (the usual case: one document); items are measured one by one only
    when it does not fit. ``PayloadTooLarge`` for one item no document could hold."""
    if len(_json(rows)) <= limit:
        return [slice(0, len(rows))]
    cuts: list[slice] = []
    start, size = 0, 2
    for i, row in enumerate(rows):
        n = len(_json(row)) + 1
        if n > MAX_ITEM_BYTES:
            raise PayloadTooLarge(
                f"one SOA item is {n} bytes, over the {MAX_ITEM_BYTES}-byte limit of a durable session: "
                "send large inputs as common data (session.publish) and pass their name instead"
            )
        if i > start and size + n > limit:
            cuts.append(slice(start, i))
            start, size = i, 2
        size += n
    cuts.append(slice(start, len(rows)))
    return cuts


def fold_groups(sizes: list[tuple[str, int]], limit: int, max_docs: int) -> list[list[str]]:
    """Small ack docs (id, bytes) in order, grouped so each group fits one doc of ``limit`` bytes and one
    store batch (``max_docs`` deletes); only groups of two or more are worth rewriting."""
    groups: list[list[str]] = []
    group: list[str] = []
    total = 0
    for id, size in sizes:
        if size * 2 > limit:
            continue  # already big: folding it would rewrite a lot to save one document
        if group and (total + size > limit or len(group) == max_docs):
            groups.append(group)
            group, total = [], 0
        group.append(id)
        total += size
    groups.append(group)
    return [g for g in groups if len(g) > 1]


def ack_bytes(client_id: str, ids: list[str]) -> int:
    """An ack group's JSON size (escapes included: a folded doc must fit Cosmos DB's item limit)."""
    return len(_json([client_id, ids])) + 1


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
