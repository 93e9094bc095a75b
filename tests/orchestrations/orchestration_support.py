"""Helpers: the job orchestrator on the real Durable engine, its activities on services over SQLite.

There is no queue here, so dispatch materializes batches inside the activity; "agents" are test
code calling the lease and report services, raising the same hint events the report function does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from hpcburst.devhost.durable import DurableEngine, DurableRegistry
from hpcburst.services.orchestrations import JOB_EVENT, ORCHESTRATOR

_registries: dict[tuple[str, ...], DurableRegistry] = {}


def registry_of(*modules: str) -> DurableRegistry:
    """The blueprints of ``modules`` (under ``orchestrations``), indexed once per set (an app may be indexed
    only once)."""
    if modules not in _registries:
        import importlib

        import azure.durable_functions as df

        app = df.DFApp()
        for name in modules:
            app.register_functions(importlib.import_module(f"orchestrations.{name}").bp)
        _registries[modules] = DurableRegistry.from_functions(app.get_functions())
    return _registries[modules]


def registry() -> DurableRegistry:
    """The job orchestrator and its activities."""
    return registry_of("job_orchestrator", "activities")


class EngineOrchestrations:
    """The Orchestrations port straight on the engine (what DurableOrchestrations does over HTTP)."""

    def __init__(self, engine: DurableEngine) -> None:
        self.engine = engine

    async def start(self, instance_id: str, input: dict[str, Any]) -> None:
        await self.engine.start_new(ORCHESTRATOR, instance_id, input)

    async def raise_event(self, instance_id: str, data: dict[str, Any]) -> None:
        await self.engine.raise_event(instance_id, JOB_EVENT, data)


@contextlib.asynccontextmanager
async def running_engine(db_path: str) -> AsyncIterator[DurableEngine]:
    engine = DurableEngine(db_path, registry(), max_activities=4, max_orchestrations=4)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()
