"""Run activity functions: async ones on the event loop, sync ones on worker threads, at most N at a time.

Input is decoded with the SDK's ``df_loads`` and the result encoded with ``df_dumps``, as the Python worker
does. Each outcome is handed to ``on_done`` (on the loop), which batches the completions into the store.
When many sync activities are queued (a fan-out), a worker thread takes a short run of them at once: one thread
hand-off per run instead of per activity, which is most of the cost of a no-op activity.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azure.durable_functions.models.utils.df_serialization import df_dumps, df_loads

from .registry import ActivitySpec, DurableRegistry
from .store import ActivityRow

MAX_RUN = 32  # sync activities one thread hand-off may take when the queue is long


@dataclass(frozen=True)
class ActivityOutcome:
    row: ActivityRow
    ok: bool
    result_json: str | None = None
    reason: str = ""
    skipped: bool = False  # not run: its orchestration finished or restarted meanwhile


def missing_reason(name: str) -> str:
    """Why a call to an activity the app does not declare fails (the Durable extension's words)."""
    return f"The activity function '{name}' doesn't exist, is disabled, or is not an activity function."


def _missing(row: ActivityRow) -> ActivityOutcome:
    return ActivityOutcome(row, False, reason=missing_reason(row.name))


def _failure(row: ActivityRow, exc: BaseException) -> ActivityOutcome:
    reason = f"Activity function '{row.name}' failed: {type(exc).__name__}: {exc}"
    return ActivityOutcome(row, False, reason=reason)


def _decode(row: ActivityRow) -> object:
    return df_loads(row.input_json) if row.input_json is not None else None


def run_sync(spec: ActivitySpec | None, row: ActivityRow) -> ActivityOutcome:
    """Call a sync activity (on a worker thread)."""
    if spec is None:
        return _missing(row)
    try:
        result = spec.function(**{spec.binding_name: _decode(row)})
        return ActivityOutcome(row, True, result_json=df_dumps(result))
    except Exception as exc:  # an activity's failure is data for its orchestrator
        return _failure(row, exc)


def run_many(calls: list[tuple[ActivitySpec | None, ActivityRow]]) -> list[ActivityOutcome]:
    return [run_sync(spec, row) for spec, row in calls]


class ActivityRunner:
    def __init__(
        self,
        registry: DurableRegistry,
        max_concurrency: int,
        on_done: Callable[[ActivityOutcome], None],
        wanted: Callable[[ActivityRow], bool] = lambda row: True,
    ) -> None:
        self.registry = registry
        self.max_concurrency = max(1, max_concurrency)
        self.on_done = on_done
        self.wanted = wanted
        self.pending: collections.deque[ActivityRow] = collections.deque()
        self.not_empty = asyncio.Event()
        self.pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="durable-activity")
        self.workers: list[asyncio.Task] = []
        self.completed = 0

    def start(self) -> None:
        self.workers = [asyncio.create_task(self._work()) for _ in range(self.max_concurrency)]

    def submit(self, rows: list[ActivityRow]) -> None:
        if rows:
            self.pending.extend(rows)
            self.not_empty.set()

    async def stop(self) -> None:
        """Stop running activities. Sync ones already on a thread are not waited for: their results could no
        longer be reported, and their rows stay in the store, so they run again at the next start."""
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        self.workers = []
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _spec(self, row: ActivityRow) -> ActivitySpec | None:
        return self.registry.activities.get(row.name)

    def _is_async(self, row: ActivityRow) -> bool:
        spec = self._spec(row)
        return spec is not None and spec.is_async

    async def _next(self) -> ActivityRow:
        while not self.pending:
            self.not_empty.clear()
            await self.not_empty.wait()
        return self.pending.popleft()

    def _take_run(self, first: ActivityRow) -> list[ActivityRow]:
        """``first`` plus a fair share of the queued sync activities (none when the queue is short)."""
        run = [first]
        share = min(MAX_RUN, len(self.pending) // self.max_concurrency)
        while len(run) <= share and self.pending and not self._is_async(self.pending[0]):
            run.append(self.pending.popleft())
        return run

    def _report(self, outcomes: list[ActivityOutcome]) -> None:
        for outcome in outcomes:
            self.completed += not outcome.skipped
            self.on_done(outcome)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            row = await self._next()
            if self._is_async(row):
                self._report([await self._run_async(row)] if self.wanted(row) else [_skip(row)])
                continue
            run = self._take_run(row)
            wanted = [r for r in run if self.wanted(r)]
            self._report([_skip(r) for r in run if r not in wanted])
            if wanted:
                calls = [(self._spec(r), r) for r in wanted]
                self._report(await loop.run_in_executor(self.pool, run_many, calls))

    async def _run_async(self, row: ActivityRow) -> ActivityOutcome:
        spec = self._spec(row)
        assert spec is not None
        try:
            result = await spec.function(**{spec.binding_name: _decode(row)})
            return ActivityOutcome(row, True, result_json=df_dumps(result))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an activity's failure is data for its orchestrator
            return _failure(row, exc)


def _skip(row: ActivityRow) -> ActivityOutcome:
    return ActivityOutcome(row, False, skipped=True)
