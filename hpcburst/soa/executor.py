"""``SessionExecutor``: a ``concurrent.futures.Executor`` whose calls are a session's operations.

``submit`` only makes a future, encodes the call and queues it (a few microseconds, no I/O, no lock);
the sender and receiver threads of ``hpcburst.soa.streams`` move requests and responses in batches.
Request ids are a random per-executor prefix plus a counter, so two processes reusing a client id (a
restarted client) never collide.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

from hpcburst.errors import InvalidSpec, InvalidState
from hpcburst.soa.codec import Codec
from hpcburst.soa.futures import SoaFuture
from hpcburst.soa.streams import Flight, RequestSender, ResponseReceiver

if TYPE_CHECKING:
    from hpcburst.soa.session import Session

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
OPERATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_BATCH_SIZE = 10_000


def new_client_id() -> str:
    return f"c-{secrets.token_hex(8)}"


class SessionExecutor(Executor):
    def __init__(self, session: Session, client_id: str | None = None, batch_size: int = 256,
                 linger: float = 0.002, codec: Codec = "json") -> None:  # fmt: skip
        if client_id is not None and not CLIENT_ID.match(client_id):
            raise InvalidSpec(
                f"client_id {client_id!r}: 1-128 of letters, digits and _ . : -", field="client_id"
            )
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise InvalidSpec(f"batch_size {batch_size}: between 1 and {MAX_BATCH_SIZE}", field="batch_size")
        if linger < 0:
            raise InvalidSpec(f"linger {linger}: seconds, 0 or more", field="linger")
        if codec not in ("json", "pickle"):
            raise InvalidSpec(f"codec {codec!r}: 'json' or 'pickle'", field="codec")
        self.session = session
        self.client_id = client_id or new_client_id()
        self.codec: Codec = codec
        self._flight = Flight(batch_size)
        self._prefix = secrets.token_hex(4) + "."
        self._counter = itertools.count()
        self._ops: set[str] = set()  # operation names already checked
        self._shutdown = False
        channel = session.client.channel
        self._sender = RequestSender(self._flight, channel.new_client(), channel.url, session.id,
                                     self.client_id, linger, codec)  # fmt: skip
        self._receiver = ResponseReceiver(self._flight, channel.new_client(timeout=channel.timeout + 40),
                                          channel.url, session.id, self.client_id, codec)  # fmt: skip
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    # --- concurrent.futures.Executor ---
    def submit(self, op: str, /, *args: Any, user_data: Any = None, **kwargs: Any) -> SoaFuture:  # type: ignore[override]
        """Queue ``op(*args, **kwargs)`` on the session's hosts; ``user_data`` comes back with the response."""
        if self._shutdown:
            raise RuntimeError("cannot submit to an executor that is shut down")
        flight = self._flight
        if flight.error is not None:
            raise InvalidState(f"this executor stopped: {flight.error}") from flight.error
        if op not in self._ops:
            self._check_op(op)
        if not self._threads:
            self._start()
        future = SoaFuture(f"{self._prefix}{next(self._counter):x}", user_data, op, args, kwargs or None)
        flight.pending[future.id] = future
        queue = flight.queue
        queue.append(future)  # encoded by the sender thread, a batch at a time
        n = len(queue)
        if n == 1 or n == flight.batch_size:  # the sender may be idle, or lingering for a full batch
            flight.wake_sender.set()
        return future

    def map(self, op: str, *iterables: Iterable[Any], ordered: bool = True,  # type: ignore[override]
            timeout: float | None = None) -> Iterator[Any]:  # fmt: skip
        """``op`` over the zipped iterables: values in input order (``ordered``) or as they come. Every call is
        submitted first; ``timeout`` bounds the whole iteration (TimeoutError); a fault is raised as SoaFault."""
        if ordered:
            return super().map(op, *iterables, timeout=timeout)  # type: ignore[arg-type]
        done: SimpleQueue[SoaFuture] = SimpleQueue()
        futures = [self.submit(op, *args) for args in zip(*iterables, strict=False)]
        for future in futures:
            future.add_done_callback(done.put)
        return _as_they_come(done, futures, timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more submits. ``wait``: return once every request is answered (and acknowledged).
        ``cancel_futures``: cancel the futures still waiting instead; their responses are dropped."""
        flight = self._flight
        self._shutdown = True
        if cancel_futures:
            for future in list(flight.pending.values()):
                future.cancel()
            flight.cancelling = True
        flight.flushing = True
        with self._start_lock:
            if not self._threads:  # never used: no thread will close the connections
                self._sender.http.close()
                self._receiver.http.close()
        flight.wake_sender.set()
        flight.wake_receiver.set()
        if wait:
            for thread in self._threads:
                if thread.name.endswith("sender") or not cancel_futures:
                    thread.join()

    # --- what else users see ---
    @property
    def outstanding(self) -> int:
        """Requests submitted and not answered yet."""
        return len(self._flight.pending)

    def _check_op(self, op: str) -> None:
        if not isinstance(op, str) or not OPERATION.match(op):
            raise InvalidSpec(f"operation {op!r}: a name such as 'echo' (letters, digits, _)", field="op")
        self._ops.add(op)

    def _start(self) -> None:
        with self._start_lock:
            if self._threads or self._shutdown:
                return
            for name, target in (("sender", self._sender.run), ("receiver", self._receiver.run)):
                thread = threading.Thread(target=target, name=f"soa-{self.client_id}-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)


def _as_they_come(
    done: SimpleQueue[SoaFuture], futures: list[SoaFuture], timeout: float | None
) -> Iterator[Any]:
    deadline = None if timeout is None else time.monotonic() + timeout
    left = len(futures)
    try:
        while left:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                future = done.get(timeout=wait)
            except Empty:
                raise TimeoutError(f"{left} of {len(futures)} calls unanswered after {timeout} s") from None
            left -= 1
            yield future.result()
    finally:
        for future in futures:
            future.cancel()
