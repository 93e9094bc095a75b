"""What the agent owes the broker: host responses and ended hosts, kept until a poll carrying them is answered.

Two pollers may run at once (the long-poll and the flush): each ``take``s its own batch, so nothing is sent
twice while both are in flight, and ``give_back`` returns a batch whose call failed to the front. ``wait``
wakes the flush step when something is to be said now (new responses, a host ready or ended).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from hpcburst.domain.soa.protocol import MAX_BATCH, HostEnded, HostResponse


@dataclass
class Batch:
    responses: list[HostResponse] = field(default_factory=list)
    ended: list[HostEnded] = field(default_factory=list)


class Outbox:
    def __init__(self) -> None:
        self._responses: deque[HostResponse] = deque()
        self._ended: list[HostEnded] = []
        self._dirty = False
        self._cond = threading.Condition()

    def add(self, responses: list[HostResponse], ended: HostEnded | None = None) -> None:
        """Queue outcomes (an empty list still says "news": a host's state changed)."""
        with self._cond:
            self._responses.extend(responses)
            if ended is not None:
                self._ended.append(ended)
            self._dirty = True
            self._cond.notify_all()

    def take(self, limit: int = MAX_BATCH) -> Batch:
        with self._cond:
            count = min(limit, len(self._responses))
            batch = Batch([self._responses.popleft() for _ in range(count)], self._ended)
            self._ended = []
            self._dirty = bool(self._responses)
            return batch

    def give_back(self, batch: Batch) -> None:
        """The call carrying ``batch`` failed: it goes first next time."""
        with self._cond:
            self._responses.extendleft(reversed(batch.responses))
            self._ended = batch.ended + self._ended
            self._dirty = True
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for news; whether there is some."""
        with self._cond:
            if not self._dirty:
                self._cond.wait(timeout)
            return self._dirty

    def __len__(self) -> int:
        return len(self._responses) + len(self._ended)
