"""The work queue port: at-least-once delivery with a visibility-timeout lease.

Contracts (tests/storage/test_queue_contract.py):
- ``receive`` hides each returned message for ``visibility_timeout`` seconds; a message neither
  deleted nor renewed in time is delivered again with ``dequeue_count`` + 1.
- ``renew`` extends the lease and returns the message with its new ``receipt``; renewing or deleting
  with a stale receipt raises ``LeaseExpired``.
- Payloads larger than ``constants.QUEUE_INLINE_LIMIT`` travel by blob reference (claim check);
  ``receive`` returns the original payload, ``delete`` removes the claim blob too.
- ``dead_letter`` moves a message to ``<queue>-poison`` (what the Functions host does after
  ``maxDequeueCount``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    queue: str
    id: str
    receipt: str  # the pop receipt: proof of the current lease
    body: str  # the payload as sent (claim check resolved, unless receive(resolve_claims=False))
    dequeue_count: int
    inserted_at: float | None = None  # epoch seconds
    # The raw message when the payload travelled by claim check (a blob reference), else None.
    # ``delete`` uses it to remove the blob; ``dead_letter`` forwards it instead of the payload.
    claim: str | None = None


class WorkQueue(Protocol):
    def ensure(self, queue: str) -> None: ...

    def send(self, queue: str, body: str, delay: float = 0.0) -> str:
        """Enqueue ``body``; returns the message id. ``delay`` seconds before it becomes visible."""
        ...

    def receive(
        self,
        queue: str,
        max_messages: int = 16,
        visibility_timeout: float = 30.0,
        *,
        resolve_claims: bool = True,
    ) -> list[Message]:
        """Up to ``max_messages`` (1-32) visible messages, each hidden for ``visibility_timeout`` seconds.

        ``resolve_claims=False`` returns claim-check bodies raw (as the Functions host hands them to a
        queue-triggered function, which calls ``claim_check.resolve``).
        """
        ...

    def renew(self, message: Message, visibility_timeout: float) -> Message:
        """Hide the message ``visibility_timeout`` more seconds from now (0 makes it visible again)."""
        ...

    def delete(self, message: Message) -> None: ...

    def dead_letter(self, message: Message) -> None: ...

    def depth(self, queue: str) -> int:
        """Approximate number of messages in the queue."""
        ...
