"""The port services use to reach a job's orchestration (start it, send it events).

The function app implements it on the Durable client binding (``functions/durable_port.py``);
tests use ``RecordingOrchestrations``. Event payloads are ``{"kind": "batch_done"|"cancel"|"requeue", ...}``,
all under one event name so the orchestrator waits on a single kind of external event.
"""

from __future__ import annotations

from typing import Any, Protocol

from hpcburst.domain.job import Job

ORCHESTRATOR = "job_orchestrator"
JOB_EVENT = "job_event"


def instance_id(job_id: str, generation: int = 0) -> str:
    return f"job-{job_id}" if generation == 0 else f"job-{job_id}-r{generation}"


def orchestrator_input(job: Job, next_batch: int, open_batches: list[int]) -> dict[str, Any]:
    return {"job": job.id, "batches": job.batches, "next": next_batch, "open": list(open_batches)}


class Orchestrations(Protocol):
    async def start(self, instance_id: str, input: dict[str, Any]) -> None: ...

    async def raise_event(self, instance_id: str, data: dict[str, Any]) -> None: ...


class RecordingOrchestrations:
    """An Orchestrations that only records what it was asked (for tests and tools without Durable)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def start(self, instance_id: str, input: dict[str, Any]) -> None:
        self.started.append((instance_id, input))

    async def raise_event(self, instance_id: str, data: dict[str, Any]) -> None:
        self.events.append((instance_id, data))
