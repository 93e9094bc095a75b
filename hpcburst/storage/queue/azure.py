"""The WorkQueue adapter on Azure Storage queues (Azurite locally).

Messages are base64-encoded text, the encoding the Functions host's queue trigger expects by
default. The visibility timeout is the lease: ``renew`` extends it through ``update_message``
(which returns a new pop receipt) and a stale receipt is ``LeaseExpired``. Payloads over
``QUEUE_INLINE_LIMIT`` go by claim check (see claim_check.py). After each send the in-process
watcher is told, so a local queue trigger in the same process picks the message up at once.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.queue import (
    QueueClient,
    QueueMessage,
    QueueServiceClient,
    TextBase64DecodePolicy,
    TextBase64EncodePolicy,
)

from hpcburst import constants as c
from hpcburst.errors import ConfigError, Forbidden, InvalidSpec, LeaseExpired, NotFound, StorageUnavailable
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.queue import claim_check, watcher
from hpcburst.storage.queue.port import Message

MAX_BATCH = 32  # the most messages one Get Messages call returns


@contextmanager
def _mapped_errors(what: str) -> Iterator[None]:
    """SDK exceptions -> the hpcburst hierarchy; a lost lease becomes LeaseExpired."""
    try:
        yield
    except ResourceNotFoundError as e:
        if getattr(e, "error_code", None) == "MessageNotFound":
            raise LeaseExpired(f"{what}: message is gone or its lease passed to another receiver") from e
        raise NotFound(f"{what} not found") from e
    except ClientAuthenticationError as e:
        raise Forbidden(f"{what}: access denied ({e.reason})") from e
    except (ServiceRequestError, ServiceResponseError) as e:
        raise StorageUnavailable(f"{what}: queue storage unreachable ({e})") from e
    except HttpResponseError as e:
        code = getattr(e, "error_code", None)
        if code == "PopReceiptMismatch":
            raise LeaseExpired(f"{what}: the lease passed to another receiver") from e
        if e.status_code == 403:
            raise Forbidden(f"{what}: access denied ({code or e.reason})") from e
        if e.status_code == 413 or code == "RequestBodyTooLarge":
            raise InvalidSpec(f"{what}: message too large") from e
        raise StorageUnavailable(f"{what}: queue storage error {e.status_code} ({code or e.reason})") from e


def _seconds(value: float, minimum: int) -> int:
    # The service counts whole seconds: round up so a lease is never shorter than asked.
    return max(minimum, math.ceil(value))


class AzureWorkQueue:
    """WorkQueue on Azure Storage queues; ``blob_store`` carries payloads too large for a message."""

    def __init__(self, service: QueueServiceClient, blob_store: BlobStore | None = None) -> None:
        self._service = service
        self._blob_store = blob_store
        self._clients: dict[str, QueueClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(
        cls, connection_string: str, blob_store: BlobStore | None = None
    ) -> AzureWorkQueue:
        return cls(QueueServiceClient.from_connection_string(connection_string), blob_store)

    @classmethod
    def from_account_url(
        cls, account_url: str, credential: Any = None, blob_store: BlobStore | None = None
    ) -> AzureWorkQueue:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return cls(QueueServiceClient(account_url, credential=credential), blob_store)

    @property
    def account_url(self) -> str:
        return str(self._service.url).split("?", 1)[0].rstrip("/")

    def _client(self, queue: str) -> QueueClient:
        with self._lock:
            client = self._clients.get(queue)
            if client is None:
                client = self._service.get_queue_client(
                    queue,
                    message_encode_policy=TextBase64EncodePolicy(),
                    message_decode_policy=TextBase64DecodePolicy(),
                )
                self._clients[queue] = client
            return client

    def ensure(self, queue: str) -> None:
        with _mapped_errors(f"queue {queue}"):
            try:
                self._client(queue).create_queue()
            except ResourceExistsError:
                pass

    def send(self, queue: str, body: str, delay: float = 0.0) -> str:
        if claim_check.needs_claim(body):
            if self._blob_store is None:
                raise ConfigError(
                    f"a {len(body.encode())}-byte message needs a blob store for its claim check"
                )
            body = claim_check.wrap(body, self._blob_store, queue)
        client = self._client(queue)
        with _mapped_errors(f"queue {queue}"):
            try:
                sent = client.send_message(body, visibility_timeout=_seconds(delay, 0) or None)
            except ResourceNotFoundError:  # first send to a new queue: create it, as the Functions host does
                self.ensure(queue)
                sent = client.send_message(body, visibility_timeout=_seconds(delay, 0) or None)
        watcher.notify(queue)
        return str(sent.id)

    def receive(
        self,
        queue: str,
        max_messages: int = 16,
        visibility_timeout: float = 30.0,
        *,
        resolve_claims: bool = True,
    ) -> list[Message]:
        if not 1 <= max_messages <= MAX_BATCH:
            raise InvalidSpec(f"max_messages must be between 1 and {MAX_BATCH}")
        client = self._client(queue)
        with _mapped_errors(f"queue {queue}"):
            try:
                pages = client.receive_messages(
                    messages_per_page=max_messages, visibility_timeout=_seconds(visibility_timeout, 1)
                ).by_page()
                raw = list(next(pages, []))
            except ResourceNotFoundError:
                return []  # a queue nobody has sent to yet holds nothing
        return [self._message(queue, m, resolve_claims) for m in raw]

    def _message(self, queue: str, raw: QueueMessage, resolve_claims: bool) -> Message:
        content = str(raw.content)
        claim = content if claim_check.reference(content) else None
        body = content
        if claim is not None and resolve_claims:
            body = claim_check.resolve(content, self._require_blob_store())
        inserted = raw.inserted_on.timestamp() if raw.inserted_on else None
        return Message(
            queue, str(raw.id), str(raw.pop_receipt), body, int(raw.dequeue_count or 0), inserted, claim
        )

    def renew(self, message: Message, visibility_timeout: float) -> Message:
        client = self._client(message.queue)
        with _mapped_errors(f"message {message.id} in {message.queue}"):
            updated = client.update_message(
                message.id, pop_receipt=message.receipt, visibility_timeout=_seconds(visibility_timeout, 0)
            )
        return Message(
            message.queue,
            message.id,
            str(updated.pop_receipt),
            message.body,
            message.dequeue_count,
            message.inserted_at,
            message.claim,
        )

    def delete(self, message: Message) -> None:
        """Delete the message (LeaseExpired if its receipt is stale), then its claim blob if any."""
        self._delete_message(message)
        if message.claim is not None:
            claim_check.discard(message.claim, self._require_blob_store())

    def _delete_message(self, message: Message) -> None:
        with _mapped_errors(f"message {message.id} in {message.queue}"):
            self._client(message.queue).delete_message(message.id, message.receipt)

    def dead_letter(self, message: Message) -> None:
        """Move the message to ``<queue>-poison`` as it was sent (a claim stays a claim, its blob kept)."""
        self.send(message.queue + c.POISON_SUFFIX, message.claim or message.body)
        self._delete_message(message)

    def depth(self, queue: str) -> int:
        with _mapped_errors(f"queue {queue}"):
            try:
                return int(self._client(queue).get_queue_properties().approximate_message_count or 0)
            except ResourceNotFoundError:
                return 0

    def _require_blob_store(self) -> BlobStore:
        if self._blob_store is None:
            raise ConfigError("this queue carries claim-check messages: build it with a blob store")
        return self._blob_store

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self._service.close()
