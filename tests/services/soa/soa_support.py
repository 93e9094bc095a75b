"""Broker test helpers: sessions and services as tests name them, a fake node agent that speaks the SOA
poll. The journal's stand-in is ``soa_journal_standin.MemoryJournal``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hpcburst.domain.soa.models import ServiceRegistration, SessionRecord
from hpcburst.domain.soa.protocol import (
    HostEnded,
    HostRequest,
    HostResponse,
    HostState,
    RequestItem,
    SoaPoll,
    SoaPollAnswer,
)
from hpcburst.services.soa.broker import Broker

POOL = "default"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def service(**changes: Any) -> ServiceRegistration:
    return ServiceRegistration(name="echo", module="echo_service", **changes)


def record(session: str = "s1", created_at: float = 1.0, **changes: Any) -> SessionRecord:
    return SessionRecord(id=session, service="echo", owner="alice", created_at=created_at, **changes)


def items(*ids: str, op: str = "echo") -> list[RequestItem]:
    return [RequestItem(id=i, op=op, payload={"args": [i]}, user_data=f"ud-{i}") for i in ids]


@dataclass
class FakeAgent:
    """One node's agent: the hosts it was told to start, what they want, and its SOA polls."""

    broker: Broker
    node: str
    pool: str = POOL
    hosts: dict[str, int] = field(default_factory=dict)  # host -> want
    stopped: list[str] = field(default_factory=list)

    def lease(self, free_slots: int) -> list[str]:
        started = [h.host for h in self.broker.place_hosts(self.node, self.pool, free_slots)]
        for host in started:
            self.hosts[host] = 4
        return started

    def poll(
        self,
        responses: Sequence[HostResponse] = (),
        ended: Sequence[HostEnded] = (),
        wait: float = 0.0,
        listed: Sequence[str] | None = None,
    ) -> SoaPollAnswer:
        return asyncio.run(self.poll_async(responses, ended, wait, listed))

    async def poll_async(
        self,
        responses: Sequence[HostResponse] = (),
        ended: Sequence[HostEnded] = (),
        wait: float = 0.0,
        listed: Sequence[str] | None = None,
    ) -> SoaPollAnswer:
        names = self.hosts if listed is None else listed
        states = [HostState(host=h, ready=True, want=self.hosts.get(h, 4)) for h in names]
        body = SoaPoll(
            node=self.node,
            pool=self.pool,
            hosts=states,
            responses=list(responses),
            ended=list(ended),
            wait=wait,
        )
        answer = await self.broker.poll(self.node, self.pool, body)
        for host in answer.stop:
            self.hosts.pop(host, None)
            self.stopped.append(host)
        return answer

    def end(self, host: str, reason: str) -> SoaPollAnswer:
        self.hosts.pop(host, None)
        return self.poll(ended=[HostEnded(host=host, reason=reason)])


def echo(request: HostRequest, **changes: Any) -> HostResponse:
    fields: dict[str, Any] = {"ok": True, "value": request.payload, **changes}
    return HostResponse(
        host=request.host, client_id=request.client_id, id=request.id, attempt=request.attempt, **fields
    )


def take(broker: Broker, session: str, client_id: str = "c1", **body: Any) -> Any:
    from hpcburst.domain.soa.protocol import GetResponses

    return asyncio.run(broker.responses(session, GetResponses(client_id=client_id, **body)))
