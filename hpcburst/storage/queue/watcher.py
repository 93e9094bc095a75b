"""Process-local "a message was just sent to queue X" signals.

The Functions host's queue listener is told immediately when a function in the same host writes
to a queue it watches (the WebJobs SDK's SharedQueueWatcher), instead of waiting for its next poll.
The queue adapter calls ``notify`` after every send; the local runtime's queue trigger subscribes.
With nobody subscribed (an agent, the CLI, Azure) it costs one dict lookup.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

_lock = threading.Lock()
_subscribers: dict[str, list[Callable[[str], None]]] = defaultdict(list)


def subscribe(queue: str, callback: Callable[[str], None]) -> Callable[[], None]:
    """Call ``callback(queue)`` after each send to ``queue`` in this process; returns an unsubscribe."""
    with _lock:
        _subscribers[queue].append(callback)

    def unsubscribe() -> None:
        with _lock:
            if callback in _subscribers.get(queue, []):
                _subscribers[queue].remove(callback)

    return unsubscribe


def notify(queue: str) -> None:
    with _lock:
        callbacks = list(_subscribers.get(queue, ()))
    for callback in callbacks:
        callback(queue)
