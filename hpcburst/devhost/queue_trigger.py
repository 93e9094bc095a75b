"""Queue triggers: one listener per function, behaving as the Storage Queues extension's listener.

- fetch up to ``batchSize`` messages, each hidden for the processing lease (10 minutes, renewed at half
  time while the function runs); fetch again once fewer than ``newBatchThreshold`` are in flight;
- idle: exponential backoff from 100 ms to ``maxPollingInterval``; a send from this process (the
  ``watcher``, as the host's SharedQueueWatcher) wakes the listener at once;
- success deletes the message; failure makes it visible again after ``visibilityTimeout``; a message
  that failed ``maxDequeueCount`` times (or arrives with a higher count) moves to ``<queue>-poison``.
Messages are received raw (claim-check references are not resolved), as Azure hands them over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.functions.queue import QueueMessage

from hpcburst.constants import POISON_SUFFIX
from hpcburst.devhost.bindings import Invoker
from hpcburst.devhost.catalog import FunctionSpec
from hpcburst.devhost.hostconfig import QueueOptions
from hpcburst.errors import HpcBurstError, LeaseExpired
from hpcburst.storage.queue import watcher
from hpcburst.storage.queue.port import Message, WorkQueue

log = logging.getLogger("hpcburst.devhost")

MIN_POLL = 0.1  # seconds: the extension's minimum polling interval
PROCESSING_LEASE = 600.0  # seconds a message stays hidden while its function runs (renewed at half)


def queue_argument(spec: FunctionSpec, message: Message) -> Any:
    """``str``/``bytes`` for parameters annotated so, else ``func.QueueMessage`` with its metadata."""
    annotation = spec.annotation(spec.trigger["name"])
    if annotation in (str, "str"):
        return message.body
    if annotation in (bytes, "bytes"):
        return message.body.encode("utf-8")
    inserted = datetime.fromtimestamp(message.inserted_at, UTC) if message.inserted_at else None
    return QueueMessage(
        id=message.id,
        body=message.body,
        dequeue_count=message.dequeue_count,
        insertion_time=inserted,
        expiration_time=inserted + timedelta(days=7) if inserted else None,
        pop_receipt=message.receipt,
    )


class QueueListener:
    """Feeds one queue's messages to one function. ``step()`` is one poll; ``run()`` loops until ``stop()``."""

    def __init__(
        self,
        spec: FunctionSpec,
        queue: WorkQueue,
        queue_name: str,
        options: QueueOptions,
        invoker: Invoker,
        lease_seconds: float = PROCESSING_LEASE,
    ) -> None:
        self.spec = spec
        self.queue = queue
        self.queue_name = queue_name
        self.options = options
        self.invoker = invoker
        self.lease = lease_seconds
        self.inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    async def _io(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        # Storage calls use the loop's default pool, so busy sync functions cannot starve the poller.
        return await self._loop.run_in_executor(None, lambda: call(*args, **kwargs))

    async def step(self) -> int:
        """Fetch one batch and start processing it; returns how many messages came."""
        raw = await self._io(
            self.queue.receive, self.queue_name, self.options.batch_size, self.lease, resolve_claims=False
        )
        if self._stopping.is_set():  # fetched while the host stops: hand them straight back
            for message in raw:
                await self._io(self.queue.renew, dataclasses.replace(message, claim=None), 0)
            return 0
        for message in raw:
            # The claim stays in the body for the function to resolve; deleting must not touch its blob.
            task = asyncio.create_task(self.process(dataclasses.replace(message, claim=None)))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        return len(raw)

    def _poked(self, _queue: str) -> None:
        try:
            self._loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop has closed: nothing to wake
            pass

    async def run(self) -> None:
        unsubscribe = watcher.subscribe(self.queue_name, self._poked)
        delay = MIN_POLL
        try:
            while not self._stopping.is_set():
                if len(self.inflight) > self.options.new_batch_threshold:
                    await asyncio.wait(set(self.inflight), return_when=asyncio.FIRST_COMPLETED)
                    continue
                self._wake.clear()
                try:
                    fetched = await self.step()
                except HpcBurstError as err:
                    log.warning("queue %r: %s (retrying)", self.queue_name, err.message)
                    fetched = 0
                except Exception:  # noqa: BLE001 - the listener must outlive any one failed poll
                    log.exception("queue %r: polling failed (retrying)", self.queue_name)
                    fetched = 0
                if fetched:
                    delay = MIN_POLL
                    continue
                await self._idle(delay)
                delay = MIN_POLL if self._wake.is_set() else min(delay * 2, self.options.max_polling_interval)
        finally:
            unsubscribe()

    async def _idle(self, delay: float) -> None:
        jittered = delay * random.uniform(0.8, 1.0)
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(self._stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=jittered, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop fetching; let running functions finish (up to ``grace`` seconds; the rest reappear later)."""
        self._stopping.set()
        if self.inflight:
            await asyncio.wait(set(self.inflight), timeout=grace)
        for task in list(self.inflight):  # still running: their messages reappear when the lease ends
            task.cancel()

    async def process(self, message: Message) -> None:
        if message.dequeue_count > self.options.max_dequeue_count:
            await self._poison(message)
            return
        reason = f"New queue message detected on '{self.queue_name}'."
        argument = queue_argument(self.spec, message)
        held = [message]  # the latest receipt, updated by the renewer
        done = asyncio.Event()
        renewer = asyncio.create_task(self._renew_until(done, held))
        try:
            await self.invoker.invoke(self.spec, argument, reason)
            succeeded = True
        except Exception:  # noqa: BLE001 - logged by the invoker; the message decides what happens next
            succeeded = False
        done.set()
        await renewer
        try:
            if succeeded:
                await self._io(self.queue.delete, held[0])
            elif message.dequeue_count >= self.options.max_dequeue_count:
                await self._poison(held[0])
            else:
                await self._io(self.queue.renew, held[0], self.options.visibility_timeout)
        except LeaseExpired:
            log.warning("message %s on %r: lease lost while its function ran", message.id, self.queue_name)
        except HpcBurstError as err:
            log.warning("message %s on %r: %s", message.id, self.queue_name, err.message)
        except Exception:  # noqa: BLE001 - the message reappears after its lease; keep the listener going
            log.exception("message %s on %r: could not settle it", message.id, self.queue_name)

    async def _poison(self, message: Message) -> None:
        poison = self.queue_name + POISON_SUFFIX
        log.warning(
            "Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
            self.options.max_dequeue_count,
            poison,
        )
        try:
            await self._io(self.queue.dead_letter, message)
        except HpcBurstError as err:
            log.warning("message %s: could not move it to %r: %s", message.id, poison, err.message)

    async def _renew_until(self, done: asyncio.Event, held: list[Message]) -> None:
        while True:
            try:
                await asyncio.wait_for(done.wait(), timeout=self.lease / 2)
                return
            except TimeoutError:
                pass
            try:
                held[0] = await self._io(self.queue.renew, held[0], self.lease)
            except Exception as err:  # noqa: BLE001 - a lost renewal only risks a redelivery
                log.warning("message %s: lease renewal failed: %s", held[0].id, err)
                return
