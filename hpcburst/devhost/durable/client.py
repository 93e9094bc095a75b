"""The engine's client operations (what the durable client binding and the Durable HTTP API call).

Each operation commits its message before returning, so an acknowledged start or raised event survives a crash.
Mixed into :class:`~.engine.DurableEngine`; errors are hpcburst errors (NotFound 404, InvalidState 410 here).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from azure.durable_functions.models.utils.df_serialization import df_dumps

from ...errors import Conflict, InvalidState, NotFound
from . import history as h
from .instances import RUNNING, SUSPENDED, TERMINAL, LiveInstance, message, new_instance_row, start_messages
from .store import Batch, DurableStore, EntityMessageRow, InstanceRow


class Gone(InvalidState):
    """The instance already completed, failed or was terminated (HTTP 410)."""

    status = 410


def status_view(
    row: InstanceRow, history: list[dict] | None = None, show_input: bool = True, with_output: bool = False
) -> dict:
    """The instance status in the Durable HTTP API's JSON shape."""
    view: dict[str, Any] = {
        "name": row.name,
        "instanceId": row.instance_id,
        "runtimeStatus": row.status,
        "input": json.loads(row.input_json) if show_input and row.input_json is not None else None,
        "customStatus": json.loads(row.custom_status_json) if row.custom_status_json else None,
        "output": json.loads(row.output_json) if row.output_json is not None else None,
        "createdTime": row.created[:19] + "Z",
        "lastUpdatedTime": row.updated[:19] + "Z",
    }
    if history is not None:
        view["historyEvents"] = h.public_view(history, with_output)
    return view


class ClientOperations:
    """Start, query and control orchestration instances and entities.

    The engine provides the state and the primitives declared here.
    """

    live: dict[str, LiveInstance]
    task_hub: str
    _waiters: dict[str, list[asyncio.Future]]

    @property
    def store(self) -> DurableStore:
        raise NotImplementedError

    def _row(self, instance_id: str) -> InstanceRow | None:
        raise NotImplementedError

    def _forget(self, instance_id: str) -> None:
        raise NotImplementedError

    def _commit(self, batch: Batch) -> None:
        raise NotImplementedError

    def _require_orchestrator(self, name: str) -> None:
        raise NotImplementedError

    @staticmethod
    def new_instance_id() -> str:
        raise NotImplementedError

    async def start_new(self, name: str, instance_id: str | None = None, input: Any = None) -> str:
        return await self.start_new_json(name, instance_id, df_dumps(input) if input is not None else None)

    async def start_new_json(self, name: str, instance_id: str | None, input_json: str | None) -> str:
        self._require_orchestrator(name)
        instance_id = instance_id or self.new_instance_id()
        existing = self._row(instance_id)
        if existing is not None and existing.status not in TERMINAL:
            raise Conflict(f"An instance with ID '{instance_id}' already exists and is {existing.status}.")
        self._forget(instance_id)
        generation = existing.generation + 1 if existing else 0
        row = new_instance_row(instance_id, name, input_json, generation)
        batch = Batch(purge=[instance_id] if existing else [], instances=[row])
        batch.inbox.append(start_messages(self.store, row))
        self._commit(batch)
        return instance_id

    async def restart(self, instance_id: str, new_instance_id: bool = True) -> str:
        """Start the instance's orchestrator again with its original input (under a new id by default)."""
        row = self._known(instance_id)
        target = self.new_instance_id() if new_instance_id else instance_id
        return await self.start_new_json(row.name, target, row.input_json)

    def _known(self, instance_id: str) -> InstanceRow:
        row = self._row(instance_id)
        if row is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return row

    def _active(self, instance_id: str) -> InstanceRow:
        row = self._known(instance_id)
        if row.status in TERMINAL:
            raise Gone(f"Instance '{instance_id}' is {row.status}.")
        return row

    def _send(self, instance_id: str, event: dict, generation: int | None = None) -> None:
        self._commit(Batch(inbox=[message(self.store, instance_id, generation, event)]))

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        await self.raise_event_json(instance_id, event_name, json.dumps(data))

    async def raise_event_json(self, instance_id: str, event_name: str, data_json: str | None) -> None:
        self._active(instance_id)
        self._send(instance_id, h.event_raised(event_name, data_json))

    async def terminate(self, instance_id: str, reason: str = "") -> None:
        self._active(instance_id)
        self._send(instance_id, h.event(h.EXECUTION_TERMINATED, Input=reason))

    async def suspend(self, instance_id: str, reason: str = "") -> None:
        row = self._active(instance_id)
        if row.status != SUSPENDED:
            self._send(instance_id, h.event(h.EXECUTION_SUSPENDED, Input=reason))

    async def resume(self, instance_id: str, reason: str = "") -> None:
        self._active(instance_id)
        self._send(instance_id, h.event(h.EXECUTION_RESUMED, Input=reason))

    async def purge(self, instance_id: str) -> int:
        self._known(instance_id)
        self._forget(instance_id)
        self._commit(Batch(purge=[instance_id]))
        return 1

    async def status(self, instance_id: str, show_history: bool = False, show_input: bool = True,
                     show_history_output: bool = False) -> dict | None:  # fmt: skip
        row = self._row(instance_id)
        if row is None:
            return None
        history = None
        if show_history:
            live = self.live.get(instance_id)
            history = live.history if live else self.store.history(instance_id)
        return status_view(row, history, show_input, show_history_output)

    async def list_statuses(self, statuses: list[str] | None = None, prefix: str | None = None,
                            created_from: str | None = None, created_to: str | None = None,
                            show_input: bool = False) -> list[dict]:  # fmt: skip
        rows = []
        for row in self.store.instances():
            row = self.live[row.instance_id].row if row.instance_id in self.live else row
            if statuses and row.status not in statuses:
                continue
            if prefix and not row.instance_id.startswith(prefix):
                continue
            if (created_from and row.created < created_from) or (created_to and row.created > created_to):
                continue
            rows.append(status_view(row, None, show_input))
        return rows

    async def wait_for_completion(self, instance_id: str, timeout: float = 60.0) -> dict:
        """Wait until the instance is Completed/Failed/Terminated; on timeout return its current status."""
        if self._known(instance_id).status not in TERMINAL:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[instance_id].append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                pass
        status = await self.status(instance_id)
        if status is None:
            raise NotFound(f"Instance '{instance_id}' was purged while waiting.")
        return status

    async def signal_entity(self, name: str, key: str, operation: str, input: Any = None) -> None:
        await self.signal_entity_json(name, key, operation, df_dumps(input))

    async def signal_entity_json(self, name: str, key: str, operation: str, input_json: str | None) -> None:
        entity_id = f"@{name.lower()}@{key}"
        body = {"op": operation, "input": input_json, "signal": True}
        self._commit(
            Batch(entity_messages=[EntityMessageRow(self.store.new_id("entity_inbox"), entity_id, body)])
        )

    async def entity_state(self, name: str, key: str) -> tuple[bool, Any]:
        """(exists, state) of an entity."""
        state = self.store.entity_state(f"@{name.lower()}@{key}")
        return (state is not None, json.loads(state) if state is not None else None)

    def client_binding(self, base_url: str) -> str:
        """The JSON a durableClient binding argument receives (the SDK's DurableOrchestrationBindings)."""
        rpc = base_url.rstrip("/") + "/runtime/webhooks/durabletask/"
        query = f"taskHub={self.task_hub}&connection=Storage"
        item = rpc + "instances/INSTANCEID"
        management = {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{item}?{query}",
            "sendEventPostUri": f"{item}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{item}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{item}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{item}?{query}",
            "restartPostUri": f"{item}/restart?{query}",
            "suspendPostUri": f"{item}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{item}/resume?reason={{text}}&{query}",
        }
        creation = {
            "createNewInstancePostUri": f"{rpc}orchestrators/{{functionName}}[/{{instanceId}}]?{query}",
            "createAndWaitOnNewInstancePostUri": f"{rpc}orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{query}",
        }
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": creation,
                "managementUrls": management,
                "rpcBaseUrl": rpc,
            }
        )


__all__ = ["ClientOperations", "Gone", "status_view", "RUNNING"]
