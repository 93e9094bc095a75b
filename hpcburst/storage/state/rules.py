"""What every state store adapter checks the same way: containers, bodies, filters, continuations.

Kept apart from the adapters so SQLite, Cosmos and the in-memory fake reject the same inputs with
the same messages, and so their continuation tokens share one (opaque to callers) format.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from hpcburst import constants as c
from hpcburst.errors import InvalidSpec
from hpcburst.storage.state.port import Document, WriteOp

# Keys a body may not carry: the document address and Cosmos DB's system properties.
RESERVED_KEYS = frozenset({"id", "pk", "_rid", "_self", "_etag", "_attachments", "_ts", "_lsn"})
SCALARS = (str, int, float, bool)
MAX_BATCH_OPS = 100  # Cosmos DB's limit for a transactional batch, kept by every adapter
WRITE_KINDS = ("create", "replace", "upsert", "delete")


def new_etag() -> str:
    """A fresh opaque etag: random, so writers in different processes never reuse one."""
    return os.urandom(8).hex()


def check_container(container: str) -> tuple[str, ...]:
    """The indexed fields of ``container``; InvalidSpec for a container constants does not declare."""
    try:
        return c.INDEXED_FIELDS[container]
    except KeyError:
        known = ", ".join(c.INDEXED_FIELDS)
        raise InvalidSpec(f"unknown state container {container!r}: use one of {known}") from None


def check_address(partition: str, id: str) -> None:
    if not isinstance(partition, str) or not partition:
        raise InvalidSpec("partition must be a non-empty string")
    if not isinstance(id, str) or not id:
        raise InvalidSpec("id must be a non-empty string")
    # Cosmos DB refuses these characters in ids; refuse them everywhere so SQLite data can move to Cosmos.
    if any(ch in id for ch in "/\\?#"):
        raise InvalidSpec(f"id {id!r} contains one of / \\ ? # (not allowed by Cosmos DB)")


def check_write(partition: str, op: WriteOp) -> None:
    """The address and kind of one write (``WriteOp.kind``'s Literal is not checked at run time)."""
    check_address(partition, op.id)
    if op.kind not in WRITE_KINDS:
        raise InvalidSpec(f"unknown write kind {op.kind!r}")


def check_batch(ops: Sequence[object]) -> None:
    if len(ops) > MAX_BATCH_OPS:
        raise InvalidSpec(f"a batch holds at most {MAX_BATCH_OPS} operations, not {len(ops)}: split it")


def batch_results(ops: Sequence[WriteOp], docs: Sequence[Document]) -> list[Document | None]:
    """What ``batch`` returns: each op's written document, None for a delete."""
    return [None if op.kind == "delete" else doc for op, doc in zip(ops, docs, strict=True)]


def encode_body(body: Mapping[str, Any]) -> str:
    """The body as compact JSON; InvalidSpec when it uses a reserved key or is not JSON-serialisable."""
    clash = RESERVED_KEYS.intersection(body)
    if clash:
        raise InvalidSpec(
            f"document body uses reserved key(s) {sorted(clash)}: id and partition are arguments"
        )
    try:
        return json.dumps(body, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidSpec(f"document body is not JSON: {exc}") from None


def check_query(container: str, where: Mapping[str, Any] | None, order_by: str | None, limit: int) -> None:
    """Filters on indexed fields only, by equality to a scalar or membership in a list of scalars."""
    fields = check_container(container)
    for name, value in (where or {}).items():
        if name not in fields:
            raise InvalidSpec(
                f"cannot filter {container} by {name!r}: indexed fields are {', '.join(fields)}"
            )
        values = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, SCALARS) for v in values):
            raise InvalidSpec(f"filter {name!r} must be a string, number, bool or a list of them")
    if order_by is not None and order_by not in fields:
        raise InvalidSpec(f"cannot order {container} by {order_by!r}: indexed fields are {', '.join(fields)}")
    if not isinstance(limit, int) or limit < 1:
        raise InvalidSpec("limit must be a positive integer")


def encode_continuation(key: list[Any]) -> str:
    """An opaque token for the sort key of the last document of a page (keyset paging)."""
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continuation(token: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (ValueError, TypeError):
        raise InvalidSpec("continuation token is malformed; pass back the one a page returned") from None
    if not isinstance(key, list) or len(key) != size:
        raise InvalidSpec("continuation token does not belong to this query")
    return key
