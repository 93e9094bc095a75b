"""The claim check: queue payloads over ``QUEUE_INLINE_LIMIT`` travel as a blob reference.

Azure queue messages hold 64 KiB after base64, so a bigger payload is put in the
``hpc-large-messages`` blob container and the message carries only a small JSON reference.
Queue-triggered functions receive the raw message (as they do in Azure) and call ``resolve`` on it;
``resolve`` returns ordinary bodies unchanged, so calling it on every message is always safe.
"""

from __future__ import annotations

import json
import uuid

from hpcburst import constants as c
from hpcburst.errors import NotFound
from hpcburst.storage.blob.port import BlobStore

MARKER = "$hpcburst-claim"
_PREFIX = '{"' + MARKER + '"'


def is_claim(body: str) -> bool:
    return body.startswith(_PREFIX)


def needs_claim(body: str) -> bool:
    # Compare the byte length: the limit is what fits in a message once UTF-8 encoded and base64'd.
    return len(body) > c.QUEUE_INLINE_LIMIT // 4 and len(body.encode()) > c.QUEUE_INLINE_LIMIT


def wrap(body: str, blob_store: BlobStore, queue: str) -> str:
    """``body`` itself when it fits in a message; otherwise store it in a blob and return the reference."""
    if not needs_claim(body):
        return body
    name = f"{queue}/{uuid.uuid4().hex}"
    data = body.encode()
    try:
        blob_store.put(c.BLOB_LARGE_MESSAGES, name, data)
    except NotFound:  # the container does not exist yet
        blob_store.ensure_container(c.BLOB_LARGE_MESSAGES)
        blob_store.put(c.BLOB_LARGE_MESSAGES, name, data)
    return json.dumps({MARKER: {"container": c.BLOB_LARGE_MESSAGES, "blob": name, "size": len(data)}})


def reference(body: str) -> tuple[str, str] | None:
    """(container, blob) a claim body points at, or None for an ordinary body."""
    if not is_claim(body):
        return None
    try:
        ref = json.loads(body)[MARKER]
        return str(ref["container"]), str(ref["blob"])
    except (ValueError, KeyError, TypeError):
        return None  # looks like a claim but is not one of ours: treat it as an ordinary body


def resolve(body: str, blob_store: BlobStore) -> str:
    """The original payload of a claim body; an ordinary body is returned as it is."""
    ref = reference(body)
    if ref is None:
        return body
    return blob_store.get(*ref).decode()


def discard(body: str, blob_store: BlobStore) -> None:
    """Delete the blob a claim body points at (nothing for an ordinary body or an already deleted blob)."""
    ref = reference(body)
    if ref is None:
        return
    try:
        blob_store.delete(*ref)
    except NotFound:
        pass
