"""The two threads behind an executor: requests out in batches, responses back by long-poll.

``Flight`` is what they share with ``submit``: the queue of requests not yet sent and the futures with no
response yet. ``RequestSender.step`` sends one batch (≤ ``batch_size`` items, after at most ``linger``
seconds of gathering); ``ResponseReceiver.step`` makes one poll, carrying the acknowledgements of the
responses it completed last time. Each thread has its own keep-alive HTTP client. Tests drive ``step()``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import httpx

from hpcburst.domain.soa.models import SessionState
from hpcburst.domain.soa.protocol import MAX_BATCH
from hpcburst.errors import Conflict, HpcBurstError, InvalidState
from hpcburst.soa.codec import Codec, decode_value, encode_call, encode_value
from hpcburst.soa.futures import SoaFuture, finish_batch
from hpcburst.soa.http import LONG_POLL, encode, post_json, with_retries
from hpcburst.soa.responses import SoaFault

MAX_BATCH_BYTES = 900_000  # under the API's default 1 MiB body limit; a bigger batch is split
ENDED = {SessionState.CLOSED.value, SessionState.FAULTED.value}


class Flight:
    """Requests of one executor between ``submit`` and their response."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.queue: deque[SoaFuture] = deque()  # appended by submit, drained by the sender (both thread-safe)
        self.pending: dict[str, SoaFuture] = {}  # request id -> future, until its response
        self.wake_sender = threading.Event()
        self.wake_receiver = threading.Event()
        self.flushing = False  # shutdown: send what is queued now, no lingering
        self.cancelling = False  # shutdown(cancel_futures=True): stop waiting for responses
        self._lock = threading.Lock()
        self._in_broker = 0  # accepted by the broker, no response yet
        self.error: BaseException | None = None  # why no more responses will come (the executor is broken)

    def in_broker(self) -> int:
        return self._in_broker

    def count_accepted(self, n: int) -> None:
        with self._lock:
            self._in_broker += n
        self.wake_receiver.set()

    def count_answered(self, n: int) -> None:
        with self._lock:
            self._in_broker -= n

    def fail(self, futures: list[SoaFuture], error: BaseException) -> None:
        for future in futures:
            self.pending.pop(future.id, None)
        finish_batch((f, None, error) for f in futures)
        self.wake_receiver.set()  # it may be waiting for these to be accepted


class RequestSender:
    def __init__(self, flight: Flight, http: httpx.Client, url: str, session: str, client_id: str,
                 linger: float, codec: Codec = "json") -> None:  # fmt: skip
        self.flight, self.http, self.url = flight, http, url
        self.path = f"/api/sessions/{session}/requests"
        self.client_id, self.linger, self.codec = client_id, linger, codec

    def run(self) -> None:
        try:
            while self.step():
                pass
        finally:
            self.http.close()
            self.flight.wake_receiver.set()

    def step(self) -> bool:
        """Send one batch; False once shut down with nothing left to send."""
        batch = self._gather()
        if batch is None:
            return False
        live = [future for future in batch if not future.done()]  # the owner cancelled the others
        for future in batch:
            if future.done():
                self.flight.pending.pop(future.id, None)
        if live:
            self._send(live)
        return True

    def _gather(self) -> list[SoaFuture] | None:
        flight, queue = self.flight, self.flight.queue
        while not queue:
            if flight.flushing:
                return None
            flight.wake_sender.wait()
            flight.wake_sender.clear()
        if self.linger > 0 and len(queue) < flight.batch_size and not flight.flushing:
            deadline = time.monotonic() + self.linger  # gather more: a fuller batch is fewer calls
            while len(queue) < flight.batch_size and not flight.flushing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                flight.wake_sender.wait(left)
                flight.wake_sender.clear()
        popleft = queue.popleft
        return [popleft() for _ in range(min(flight.batch_size, len(queue)))]

    def _send(self, batch: list[SoaFuture]) -> None:
        items, codec = [], self.codec
        for future in batch:
            item = {
                "id": future.id,
                "op": future.op,
                "payload": encode_call(future.args or (), future.kwargs or {}, codec),
            }
            if future.user_data is not None:  # kept by the broker, handed back with the response
                item["user_data"] = encode_value(future.user_data, codec)
            items.append(item)
        try:
            body = encode({"client_id": self.client_id, "requests": items})
        except (TypeError, ValueError):
            self._send_one_by_one(batch, items)
            return
        if len(body) > MAX_BATCH_BYTES and len(batch) > 1:
            half = len(batch) // 2
            self._send(batch[:half])
            self._send(batch[half:])
            return
        self._post(batch, body)

    def _send_one_by_one(self, batch: list[SoaFuture], items: list[dict[str, Any]]) -> None:
        """A batch with an item JSON cannot carry: fail that item's future, send the rest."""
        good: list[SoaFuture] = []
        for future, item in zip(batch, items, strict=True):
            try:
                encode(item)
                good.append(future)
            except (TypeError, ValueError) as e:
                self.flight.fail([future], TypeError(f"request {future.id} cannot travel as JSON ({e}): "
                                                       "pass codec='pickle' to the executor"))  # fmt: skip
        if good:
            self._send(good)

    def _post(self, batch: list[SoaFuture], body: bytes) -> None:
        flight = self.flight
        try:
            with_retries(lambda _: post_json(self.http, self.url, self.path, body), lambda: flight.cancelling)
        except HpcBurstError as e:
            flight.fail(batch, e)
            return
        for future in batch:  # accepted: the broker has the call now, the client need not keep it
            future.args = future.kwargs = None
        flight.count_accepted(len(batch))


class ResponseReceiver:
    def __init__(self, flight: Flight, http: httpx.Client, url: str, session: str, client_id: str,
                 codec: Codec) -> None:  # fmt: skip
        self.flight, self.http, self.url = flight, http, url
        self.session, self.path = session, f"/api/sessions/{session}/responses"
        self.client_id, self.codec = client_id, codec
        self.acks: list[str] = []
        self.restart = False  # the next poll asks for every unacknowledged response again
        self.finished = threading.Event()  # set when run() ends: everything answered, or given up

    def run(self) -> None:
        try:
            while self.step():
                pass
        finally:
            self.http.close()
            self.finished.set()

    def step(self) -> bool:
        """One poll (or one wait for work); False once the executor is shut down and nothing is left."""
        flight = self.flight
        if flight.cancelling:
            if self.acks or flight.in_broker() > 0:
                self._poll(wait=0.0)  # take and acknowledge what is there, then stop waiting
            return False
        if flight.in_broker() > 0:
            self._poll(wait=LONG_POLL)
            return True
        if self.acks:
            self._poll(wait=0.0)
            return True
        if flight.flushing and not flight.pending:
            return False
        flight.wake_receiver.wait()
        flight.wake_receiver.clear()
        return True

    def _poll(self, wait: float) -> None:
        acks, self.acks = self.acks, []
        restart, self.restart = self.restart, False

        def call(attempt: int) -> Any:
            # A retry asks again from the start (restart): if the failed call's answer was lost on the way,
            # the responses it handed out would otherwise never come again. Copies already had are dropped.
            body = {
                "client_id": self.client_id,
                "ack": acks,
                "max": MAX_BATCH,
                "wait": wait,
                "restart": restart or attempt > 0,
            }
            return post_json(self.http, self.url, self.path, encode(body))

        try:
            answer = with_retries(call, lambda: self.flight.cancelling)
        except HpcBurstError as e:
            self._give_up(e)
            return
        self._complete(answer["responses"])
        if answer["responses"] or self.flight.in_broker() <= 0:
            return
        if answer.get("state") in ENDED:
            self._give_up(InvalidState(f"session {self.session} is {answer['state']}: no more responses will "
                                       "come; see `hpcburst session view` for why"))  # fmt: skip
        elif not answer.get("outstanding"):  # ours were handed to someone else: ask for all of them again
            if restart:
                self._give_up(Conflict(f"another client took the responses of client id {self.client_id}: use "
                                       "one executor per client id at a time"))  # fmt: skip
            self.restart = True

    def _complete(self, responses: list[dict[str, Any]]) -> None:
        pop, codec = self.flight.pending.pop, self.codec
        outcomes: list[tuple[SoaFuture, Any, BaseException | None]] = []
        acks, found = self.acks, 0
        for item in responses:
            rid = item["id"]
            acks.append(rid)
            future = pop(rid, None)
            if future is None:
                continue  # a second copy: acknowledged and dropped (as a cancelled future's response is)
            found += 1
            if item.get("ok"):
                outcomes.append((future, decode_value(item.get("value"), codec), None))
            else:
                outcomes.append((future, None, SoaFault.from_wire(item.get("fault"))))
        self.flight.count_answered(found)
        finish_batch(outcomes)

    def _give_up(self, error: BaseException) -> None:
        """No response will come: every future still waiting raises ``error``."""
        flight = self.flight
        flight.error, flight.cancelling = error, True
        futures = list(flight.pending.values())
        flight.count_answered(flight.in_broker())
        flight.fail(futures, error)
        flight.wake_sender.set()
