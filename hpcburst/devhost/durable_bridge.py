"""Where the host meets the Durable engine (hpcburst.devhost.durable): build it only for apps that need it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpcburst.devhost.catalog import DURABLE_CLIENT, DURABLE_TRIGGERS, FunctionSpec
from hpcburst.devhost.hostconfig import DurableOptions
from hpcburst.errors import ConfigError

ENGINE_DB = "durable.db"
WEBHOOK_ROUTE = "/runtime/webhooks/durabletask/{tail:.*}"


def uses_durable(specs: list[FunctionSpec]) -> bool:
    return any(s.trigger_type in DURABLE_TRIGGERS or s.bindings_of("IN", DURABLE_CLIENT) for s in specs)


def build_engine(specs: list[FunctionSpec], data_dir: Path, options: DurableOptions) -> Any | None:
    """The engine for an app with Durable functions or clients (persisting to the data dir), else None."""
    if not uses_durable(specs):
        return None
    try:
        from hpcburst.devhost.durable import DurableEngine, DurableRegistry
    except ImportError as err:
        raise ConfigError(
            f"this app uses Durable Functions but the Durable engine cannot be loaded: {err}"
        ) from None
    registry = DurableRegistry.from_functions(s.sdk_function for s in specs)
    return DurableEngine(
        str(data_dir / ENGINE_DB),
        registry,
        max_activities=options.max_activities,
        max_orchestrations=options.max_orchestrations,
        task_hub=options.hub_name,
    )
