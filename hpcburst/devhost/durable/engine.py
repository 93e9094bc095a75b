"""The Durable engine: runs orchestration episodes, activities and entities on the host's event loop.

Flow: every input (start, raised event, activity result, timer, entity reply) is first committed to the store's
inbox, then appended to the instance's in-memory inbox and the instance is woken. A worker runs one episode per
instance at a time over ALL its visible messages, commits the new history and new work in one transaction, then
hands the work to the activity runner / entity scheduler / other instances. Episodes of one instance are paced:
the next one waits as long as the last one took, so a big fan-in coalesces completions instead of replaying
per completion.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from ...errors import InvalidSpec
from . import history as h
from .activities import ActivityOutcome, ActivityRunner
from .client import ClientOperations
from .entities import EntityScheduler
from .episode import EpisodeInput, run_episode
from .http_api import handle_http
from .instances import (
    CONTROL_EVENTS,
    SUSPENDED,
    TERMINAL,
    LiveInstance,
    decision_batch,
    message,
    suspension,
    terminated,
    unknown_orchestrator,
)
from .registry import DurableRegistry
from .store import Batch, DurableStore, InstanceRow, Message

log = logging.getLogger("hpcburst.devhost.durable")
RETRY_BROKEN_EPISODE_S = 1.0
FLUSH_DELAY_S = 0.002


class DurableEngine(ClientOperations):
    def __init__(
        self,
        db_path: str,
        registry: DurableRegistry,
        max_activities: int = 10,
        max_orchestrations: int = 10,
        task_hub: str = "hpcburst",
    ) -> None:
        self.db_path = str(db_path)
        self.registry = registry
        self.max_activities = max_activities
        self.max_orchestrations = max(1, max_orchestrations)
        self.task_hub = task_hub
        self._store: DurableStore | None = None
        self.live: dict[str, LiveInstance] = {}
        self.episodes = 0  # episodes (replays) run since start
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._workers: list[asyncio.Task] = []
        self._pool = ThreadPoolExecutor(self.max_orchestrations, thread_name_prefix="durable-orchestrator")
        self._activities = ActivityRunner(registry, max_activities, self._activity_done, self._wanted)
        self._outcomes: list[ActivityOutcome] = []
        self._entities = EntityScheduler(registry, self._pool, lambda: self.store, self._commit)
        self._waiters: dict[str, list[asyncio.Future]] = defaultdict(list)

    @property
    def store(self) -> DurableStore:
        if self._store is None:
            raise RuntimeError("the Durable engine is not started")
        return self._store

    # ---- lifecycle
    async def start(self) -> None:
        """Open the store, recover persisted work (inbox, activities, entity messages) and start workers."""
        self._store = DurableStore(self.db_path)
        self._activities.start()
        self._workers = [
            asyncio.create_task(self._orchestration_worker()) for _ in range(self.max_orchestrations)
        ]
        self._deliver(self.store.inbox())
        self._activities.submit(self.store.activities())
        self._entities.submit(self.store.entity_messages())

    async def stop(self) -> None:
        """Cancel workers and wake-ups, wait for running activities/episodes to end, close the store."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        await self._entities.stop()
        for live in self.live.values():
            if live.wake:
                live.wake.cancel()
        await self._activities.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._store:
            self._store.close()
            self._store = None

    @property
    def activities_completed(self) -> int:
        return self._activities.completed

    # ---- instances in memory
    def _row(self, instance_id: str) -> InstanceRow | None:
        live = self.live.get(instance_id)
        return live.row if live else self.store.instance(instance_id)

    def _live(self, instance_id: str) -> LiveInstance | None:
        live = self.live.get(instance_id)
        if live is None:
            row = self.store.instance(instance_id)
            if row is None:
                return None
            live = self.live[instance_id] = LiveInstance(row, self.store.history(instance_id))
        return live

    def _reload(self, instance_id: str) -> LiveInstance | None:
        """Rebuild an instance from the store (after a failed episode left memory and store apart)."""
        self._forget(instance_id)
        live = self._live(instance_id)
        if live is not None:
            for item in self.store.inbox(instance_id):
                live.add(item)
            live.next_allowed = time.monotonic() + RETRY_BROKEN_EPISODE_S
        return live

    def _forget(self, instance_id: str) -> None:
        live = self.live.pop(instance_id, None)
        if live and live.wake:
            live.wake.cancel()

    def _deliver(self, messages: list[Message]) -> None:
        touched: dict[str, LiveInstance] = {}
        for item in messages:
            live = self._live(item.instance_id)
            if live is not None:
                live.add(item)
                touched[item.instance_id] = live
        for live in touched.values():
            self._wake(live)

    def _commit(self, batch: Batch) -> None:
        """Apply ``batch``, then hand its new messages and work to the in-memory queues."""
        self.store.apply(batch)
        self._deliver(batch.inbox)
        self._activities.submit(batch.activities)
        self._entities.submit(batch.entity_messages)
        for row in batch.instances:
            if row.status in TERMINAL:
                level = logging.WARNING if row.status == "Failed" else logging.INFO
                log.log(level, "orchestration %s (%s) %s", row.name, row.instance_id, row.status.lower())
                if row.status == "Failed":
                    log.warning("  %s", row.output_json)
                for waiter in self._waiters.pop(row.instance_id, []):
                    if not waiter.done():
                        waiter.set_result(None)

    # ---- scheduling episodes
    def _wake(self, live: LiveInstance) -> None:
        if live.busy or live.queued:
            return
        due = live.next_due()
        if due is None:
            return
        delay = max(due - time.time(), live.next_allowed - time.monotonic(), 0.0)
        if delay <= 0:
            live.queued = True
            self._ready.put_nowait(live.row.instance_id)
            return
        at = time.monotonic() + delay
        if live.wake is None or at < live.wake_at - 0.001 or live.wake.cancelled():
            if live.wake:
                live.wake.cancel()
            live.wake_at = at
            live.wake = asyncio.get_running_loop().call_later(delay, self._rewake, live.row.instance_id)

    def _rewake(self, instance_id: str) -> None:
        live = self.live.get(instance_id)
        if live:
            live.wake = None
            self._wake(live)

    async def _orchestration_worker(self) -> None:
        while True:
            instance_id = await self._ready.get()
            live = self.live.get(instance_id)
            if live is None:
                continue
            live.queued = False
            live.busy = True
            current: LiveInstance | None = live
            try:
                await self._episode(live)
            except Exception:  # keep the worker alive; the messages stay in the store and are retried later
                log.exception("episode of %s failed; retrying in %.0f s", instance_id, RETRY_BROKEN_EPISODE_S)
                current = self._reload(instance_id)
            finally:
                live.busy = False
            if current is None or self.live.get(instance_id) is not current:
                continue
            live = current
            if live.row.status in TERMINAL and not live.pending:
                self._forget(instance_id)  # finished instances are read from the store from now on
            else:
                self._wake(live)

    async def _episode(self, live: LiveInstance) -> None:
        messages = live.consumable(time.time())
        if not messages:
            return
        row = live.row
        consumed = [m.id for m in messages]
        if row.status in TERMINAL:
            return self._consume(live, messages, Batch(drop_inbox=consumed))
        fresh = [m for m in messages if m.generation is None or m.generation == row.generation]
        if not fresh:  # results for an execution that continued as new or restarted
            return self._consume(live, messages, Batch(drop_inbox=consumed))
        controls = [m.event for m in fresh if m.event["EventType"] in CONTROL_EVENTS]
        if any(e["EventType"] == h.EXECUTION_TERMINATED for e in controls):
            reason = next(e for e in controls if e["EventType"] == h.EXECUTION_TERMINATED).get("Input")
            return self._close(live, messages, terminated(self.store, live, messages, reason))
        suspended = row.status == SUSPENDED
        for event in controls:
            suspended = event["EventType"] == h.EXECUTION_SUSPENDED
        if suspended:
            controlling = [m for m in messages if m.event["EventType"] in CONTROL_EVENTS]
            return self._close(live, controlling, suspension(live, controlling, controls))
        spec = self.registry.orchestrators.get(row.name)
        events = [m.event for m in fresh]
        if spec is None:
            return self._close(live, messages, unknown_orchestrator(self.store, live, messages))
        started = time.monotonic()
        episode = EpisodeInput(
            row.instance_id, row.input_json, row.parent_id, live.history, events, h.utc_now(), live.parsed
        )
        loop = asyncio.get_running_loop()
        decision = await loop.run_in_executor(self._pool, run_episode, spec, episode, self._activity_exists)
        self.episodes += 1
        batch = decision_batch(self.store, live, decision, consumed, self._row)
        self._consume(live, messages, batch)
        restarted = live.row.instance_id in batch.reset_history
        live.history = [] if restarted else live.history + decision.appended
        live.parsed = [] if restarted else decision.parsed
        elapsed = time.monotonic() - started
        live.next_allowed = time.monotonic() + elapsed

    def _activity_exists(self, name: str) -> bool:
        return name in self.registry.activities

    def _consume(self, live: LiveInstance, messages: list[Message], batch: Batch) -> None:
        taken = {m.id for m in messages}
        live.pending = [m for m in live.pending if m.id not in taken]
        self._commit(batch)

    def _close(self, live: LiveInstance, messages: list[Message], change: tuple[Batch, list[dict]]) -> None:
        batch, appended = change
        self._consume(live, messages, batch)
        live.history = live.history + appended

    # ---- activities
    def _activity_done(self, outcome: ActivityOutcome) -> None:
        # Gather results for a moment so one transaction commits many of them (a fan-in's results come in bursts).
        if not self._outcomes:
            asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self._flush_outcomes)
        self._outcomes.append(outcome)

    def _wanted(self, row) -> bool:
        """Whether a queued activity still has an execution waiting for it (not finished or restarted)."""
        owner = self._row(row.instance_id)
        return owner is not None and owner.generation == row.generation and owner.status not in TERMINAL

    def _flush_outcomes(self) -> None:
        """Commit every activity result gathered since the last flush in one transaction."""
        outcomes, self._outcomes = self._outcomes, []
        if self._store is None:
            return
        batch = Batch(drop_activities=[o.row.id for o in outcomes])
        for outcome in outcomes:
            row = outcome.row
            if outcome.skipped or self._row(row.instance_id) is None:
                continue
            if outcome.ok:
                event = h.task_completed(row.task_id, outcome.result_json)
            else:
                event = h.task_failed(row.task_id, outcome.reason)
            batch.inbox.append(message(self.store, row.instance_id, row.generation, event))
        self._commit(batch)

    def _require_orchestrator(self, name: str) -> None:
        if name not in self.registry.orchestrators:
            known = ", ".join(sorted(self.registry.orchestrators)) or "none"
            raise InvalidSpec(
                f"The function '{name}' doesn't exist or is not an orchestrator function (known: {known})."
            )

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for ``/runtime/webhooks/durabletask/{tail:.*}`` (the Durable HTTP API)."""
        return await handle_http(self, request)

    @staticmethod
    def new_instance_id() -> str:
        return uuid.uuid4().hex
