"""Run activity functions: async ones on the event loop, sync ones on worker threads, at most N at a time.

Input is decoded with the SDK's ``df_loads`` and the result encoded with ``df_dumps``, as the Python worker
does. Each outcome is handed to ``on_done`` (on the loop), which batches the completions into the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azure.durable_functions.models.utils.df_serialization import df_dumps, df_loads

from .registry import DurableRegistry
from .store import ActivityRow


@dataclass(frozen=True)
class ActivityOutcome:
    row: ActivityRow
    ok: bool
    result_json: str | None = None
    reason: str = ""
    skipped: bool = False  # not run: its orchestration finished or restarted meanwhile


def _failure(row: ActivityRow, exc: BaseException) -> ActivityOutcome:
    reason = f"Activity function '{row.name}' failed: {type(exc).__name__}: {exc}"
    return ActivityOutcome(row, False, reason=reason)


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
        self.queue: asyncio.Queue[ActivityRow] = asyncio.Queue()
        self.pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="durable-activity")
        self.workers: list[asyncio.Task] = []
        self.completed = 0

    def start(self) -> None:
        self.workers = [asyncio.create_task(self._work()) for _ in range(self.max_concurrency)]

    def submit(self, rows: list[ActivityRow]) -> None:
        for row in rows:
            self.queue.put_nowait(row)

    async def stop(self) -> None:
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        self.workers = []
        self.pool.shutdown(wait=True, cancel_futures=True)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            row = await self.queue.get()
            if not self.wanted(row):
                self.on_done(ActivityOutcome(row, False, skipped=True))
                continue
            outcome = await self._run(loop, row)
            self.completed += 1
            self.on_done(outcome)

    async def _run(self, loop: asyncio.AbstractEventLoop, row: ActivityRow) -> ActivityOutcome:
        spec = self.registry.activities.get(row.name)
        if spec is None:
            reason = f"The activity function '{row.name}' doesn't exist, is disabled, or is not an activity function."
            return ActivityOutcome(row, False, reason=reason)
        try:
            value = df_loads(row.input_json) if row.input_json is not None else None
            if spec.is_async:
                result = await spec.function(**{spec.binding_name: value})
            else:
                result = await loop.run_in_executor(
                    self.pool, lambda: spec.function(**{spec.binding_name: value})
                )
            return ActivityOutcome(row, True, result_json=df_dumps(result))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an activity's failure is data for its orchestrator
            return _failure(row, exc)
