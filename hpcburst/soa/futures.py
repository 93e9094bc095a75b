"""``SoaFuture``: a ``concurrent.futures.Future`` light enough to keep a million of them in flight.

A stock Future builds a Condition (with its lock and deque) and two lists up front: ~1.6 KB each, 1.6 GB for
a million requests. Here the state lives in ``__slots__`` and the rest is made only when someone asks:

- ``_condition`` is one process-wide re-entrant lock shared by every SoaFuture. ``as_completed`` and ``wait``
  only ever enter it (they never ``wait()`` or ``notify()`` on it), and entering a re-entrant lock once per
  future, in any order, cannot deadlock. State changes happen under it, so they stay atomic for them.
- ``_waiters`` (what ``as_completed``/``wait`` install) and the done callbacks are created on first use.
- ``result(timeout)`` blocks on a one-off waiter put in ``_waiters``, the same way ``wait`` does, so completion
  has one way to wake anyone: notify the waiters.

Completion comes from the executor's receiver thread, a batch at a time (``finish_batch``), taking the lock
once per batch rather than once per future.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, as_completed, wait
from concurrent.futures._base import (  # the states as_completed and wait read on every future
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
    PENDING,
    RUNNING,
    InvalidStateError,
    _FirstCompletedWaiter,
)
from typing import Any

_LOCK = threading.RLock()  # the one lock of every SoaFuture (see the module docstring)
_DONE = frozenset((CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED))
_CANCELLED = frozenset((CANCELLED, CANCELLED_AND_NOTIFIED))
Callback = Callable[[Any], object]

__all__ = ["SoaFuture", "as_completed", "finish_batch", "wait"]


class SoaFuture(Future):  # type: ignore[type-arg]
    """The future of one request: ``result()`` is the operation's value, or raises ``SoaFault``.

    ``id`` is the request id (unique per client id), ``user_data`` what ``submit`` was given. Until the
    broker accepts the request the future also carries the call itself (``op``, ``args``, ``kwargs``): one
    object per queued request rather than several keeps the garbage collector's passes short."""

    __slots__ = ("id", "user_data", "op", "args", "kwargs", "_state", "_result", "_exception", "_waiter_list",
                 "_callbacks")  # fmt: skip

    def __init__(self, id: str, user_data: Any = None, op: str = "", args: tuple[Any, ...] | None = None,  # noqa: A002
                 kwargs: dict[str, Any] | None = None) -> None:  # fmt: skip
        # no super().__init__(): it would build the Condition and lists this class exists to avoid
        self.id = id
        self.user_data = user_data
        self.op = op
        self.args = args
        self.kwargs = kwargs
        self._state = PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._waiter_list: list[Any] | None = None
        self._callbacks: Callback | list[Callback] | None = None  # one callable, or a list of them

    # --- what concurrent.futures.as_completed / wait touch ---
    @property
    def _condition(self) -> Any:  # type: ignore[override]
        return _LOCK

    @property
    def _waiters(self) -> list[Any]:  # type: ignore[override]
        with _LOCK:
            if self._waiter_list is None:
                self._waiter_list = []
            return self._waiter_list

    @property
    def _done_callbacks(self) -> list[Callback]:  # type: ignore[override]
        callbacks = self._callbacks
        return [] if callbacks is None else callbacks if isinstance(callbacks, list) else [callbacks]

    # --- queries ---
    def done(self) -> bool:
        return self._state in _DONE

    def cancelled(self) -> bool:
        return self._state in _CANCELLED

    def running(self) -> bool:
        return self._state == RUNNING

    def __repr__(self) -> str:
        return f"<SoaFuture {self.id} {self._state.lower()}>"

    # --- waiting ---
    def result(self, timeout: float | None = None) -> Any:
        if self._state not in _DONE:
            self._wait(timeout)
        if self._state in _CANCELLED:
            raise CancelledError()
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._state not in _DONE:
            self._wait(timeout)
        if self._state in _CANCELLED:
            raise CancelledError()
        return self._exception

    def _wait(self, timeout: float | None) -> None:
        with _LOCK:
            if self._state in _DONE:
                return
            waiter = _FirstCompletedWaiter()
            self._waiters.append(waiter)
        try:
            if not waiter.event.wait(timeout):
                raise TimeoutError(f"request {self.id} has no response after {timeout} s")
        finally:
            with _LOCK:
                self._waiters.remove(waiter)

    def add_done_callback(self, fn: Callback) -> None:
        with _LOCK:
            if self._state not in _DONE:
                current = self._callbacks
                if current is None:
                    self._callbacks = fn
                elif isinstance(current, list):
                    current.append(fn)
                else:
                    self._callbacks = [current, fn]
                return
        _call(fn, self)

    # --- changes of state ---
    def cancel(self) -> bool:
        """Stop waiting for this request: its response, when it comes, is acknowledged and dropped.

        Unlike a thread pool's, the future is notified at once (there is no worker to do it later), so
        ``as_completed`` and ``wait`` see it done."""
        with _LOCK:
            if self._state in (RUNNING, FINISHED):
                return False
            if self._state in _CANCELLED:
                return True
            self._state = CANCELLED_AND_NOTIFIED
            for waiter in self._waiter_list or ():
                waiter.add_cancelled(self)
        self._invoke_callbacks()
        return True

    def set_running_or_notify_cancel(self) -> bool:
        with _LOCK:
            if self._state in _CANCELLED:
                return False
            if self._state != PENDING:
                raise RuntimeError(f"future {self.id} is {self._state}")
            self._state = RUNNING
            return True

    def set_result(self, result: Any) -> None:
        if not finish_batch(((self, result, None),)):
            raise InvalidStateError(f"{self._state}: {self!r}")

    def set_exception(self, exception: BaseException | None) -> None:
        if not finish_batch(((self, None, exception),)):
            raise InvalidStateError(f"{self._state}: {self!r}")

    def _invoke_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, None
        if callbacks is None:
            return
        for fn in callbacks if isinstance(callbacks, list) else (callbacks,):
            _call(fn, self)


def finish_batch(outcomes: Iterable[tuple[SoaFuture, Any, BaseException | None]]) -> int:
    """Complete many futures with (future, result, exception) under one take of the lock; then run their
    callbacks outside it. Futures already done (cancelled by their owner) are skipped. Returns how many
    were completed."""
    called: list[SoaFuture] = []
    finished = 0
    with _LOCK:
        for future, result, exception in outcomes:
            if future._state in _DONE:
                continue
            future._result, future._exception, future._state = result, exception, FINISHED
            finished += 1
            waiters = future._waiter_list
            if waiters:
                for waiter in waiters:
                    if exception is None:
                        waiter.add_result(future)
                    else:
                        waiter.add_exception(future)
            if future._callbacks is not None:
                called.append(future)
    for future in called:
        future._invoke_callbacks()
    return finished


def _call(fn: Callback, future: SoaFuture) -> None:
    try:
        fn(future)
    except Exception:  # as concurrent.futures does: a failing callback must not break the others
        import logging

        logging.getLogger("concurrent.futures").exception("exception calling callback for %r", future)
