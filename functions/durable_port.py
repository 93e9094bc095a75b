"""The Orchestrations port on the Durable client binding (what services use to reach orchestrations)."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from hpcburst.services.orchestrations import JOB_EVENT, ORCHESTRATOR

log = logging.getLogger("hpcburst.functions")


class DurableOrchestrations:
    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def start(self, instance_id: str, input: dict[str, Any]) -> None:
        await self._client.start_new(ORCHESTRATOR, instance_id, input)

    async def raise_event(self, instance_id: str, data: dict[str, Any]) -> None:
        await self._client.raise_event(instance_id, JOB_EVENT, data)


async def poke(client: df.DurableOrchestrationClient, instance_id: str, data: dict[str, Any]) -> None:
    """Tell an orchestration to look again; a hint only, so a failure is logged, never raised."""
    try:
        await client.raise_event(instance_id, JOB_EVENT, data)
    except Exception as e:  # noqa: BLE001 - the orchestration may be done or not started yet
        log.info("could not raise %s on %s: %s", JOB_EVENT, instance_id, e)
