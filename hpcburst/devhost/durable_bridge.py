"""Where the host meets the Durable engine (hpcburst.devhost.durable): build it only for apps that need it."""

from __future__ import annotations

import asyncio
import sys
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


async def close_client_session() -> None:
    """Close the DF SDK's shared aiohttp session (bound to this loop), as a worker shutdown would.

    The SDK keeps one module-level session and has no shutdown hook; left open it leaks, and a later host
    on another event loop (tests run several) would reuse a session bound to a closed loop.
    """
    http_utils: Any = sys.modules.get("azure.durable_functions.models.utils.http_utils")
    if http_utils is None:
        return
    await http_utils._close_session()
    http_utils._session_lock = asyncio.Lock()
