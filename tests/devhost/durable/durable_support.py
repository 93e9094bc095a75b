"""Helpers for the Durable engine tests: load a test app by path, run an engine on a temp SQLite file."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from hpcburst.devhost.durable import DurableEngine, DurableRegistry

APPS = Path(__file__).parent / "apps"
ORCHESTRATIONS_APP = APPS / "orchestrations_app.py"
_REGISTRIES: dict[str, DurableRegistry] = {}


def load_app(path: Path):
    """Import an app module from its file (the way the devhost loads function_app.py)."""
    name = f"durable_test_app_{path.stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def registry_for(path: Path = ORCHESTRATIONS_APP) -> DurableRegistry:
    """Index a test app once per session (get_functions() may only be called once per app)."""
    key = str(path)
    if key not in _REGISTRIES:
        _REGISTRIES[key] = DurableRegistry.from_functions(load_app(path).app.get_functions())
    return _REGISTRIES[key]


@contextlib.asynccontextmanager
async def running_engine(db_path, app: Path = ORCHESTRATIONS_APP, **options) -> AsyncIterator[DurableEngine]:
    engine = DurableEngine(str(db_path), registry_for(app), **options)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def wait_until(engine: DurableEngine, instance_id: str, predicate, timeout: float = 20.0) -> dict:
    """Poll the instance status until ``predicate(status)`` holds (no fixed sleeps in tests)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        status = await engine.status(instance_id, show_input=True)
        if status is not None and predicate(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached; last status {status}")
        await asyncio.sleep(0.01)
