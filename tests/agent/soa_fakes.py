"""A first-class fake of the broker's agent side (``POST /api/agent/soa`` and ``LeaseResponse.hosts``), in memory.

It keeps the rules an agent relies on: hosts are placed by lease answers on free slots, requests go only to
hosts the node lists as wanting them (at most ``want``), a response is taken once (first writer wins), a
retry is queued again with the next attempt until ``resend_limit`` (then it is a fault), a host the broker
does not know is told to stop, and the read URLs of a session's common data ride with every answer.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hpcburst.domain.soa.protocol import (
    Fault,
    HostEnded,
    HostRequest,
    HostResponse,
    HostStart,
    SoaPoll,
    SoaPollAnswer,
)
from hpcburst.soa import codec


@dataclass
class Queued:
    client_id: str
    id: str
    op: str
    payload: Any
    attempt: int = 1


@dataclass
class FakeBroker:
    resend_limit: int = 3
    to_place: list[HostStart] = field(default_factory=list)  # handed out by the next leases
    placed: dict[str, HostStart] = field(default_factory=dict)
    queues: dict[str, deque[Queued]] = field(default_factory=dict)  # session -> pending
    in_flight: dict[str, dict[tuple[str, str], Queued]] = field(
        default_factory=dict
    )  # host -> key -> request
    responses: dict[tuple[str, str], HostResponse] = field(default_factory=dict)  # final outcomes
    retries: list[HostResponse] = field(default_factory=list)
    ended: dict[str, HostEnded] = field(default_factory=dict)
    stopping: set[str] = field(default_factory=set)  # told to stop (once)
    data_urls: dict[str, dict[str, str]] = field(default_factory=dict)
    polls: list[SoaPoll] = field(default_factory=list)
    issued: int = 0  # request ids handed out ("r0", "r1", ...)
    lock: threading.Condition = field(default_factory=threading.Condition)  # agents poll from two threads

    def host(self, session: str, module: str = "services.calc", n: int = 1, **settings: Any) -> HostStart:
        start = HostStart(
            host=f"{session}.{n}", session=session, service="calc", module=module, owner="alice",
            **{"operation_timeout": 30.0, "init_timeout": 30.0, **settings},
        )  # fmt: skip
        self.to_place.append(start)
        return start

    def submit(
        self, session: str, op: str, *args: Any, count: int = 1, codec_name: codec.Codec = "json"
    ) -> list[str]:
        with self.lock:
            queue = self.queues.setdefault(session, deque())
            ids = [f"r{self.issued + n}" for n in range(count)]
            self.issued += count
            payload = codec.encode_call(args, {}, codec_name)
            queue.extend(Queued("c1", i, op, payload) for i in ids)
            self.lock.notify_all()  # wake a long-poll
        return ids

    def stop(self, host: str) -> None:
        with self.lock:
            self.stopping.add(host)
            self.lock.notify_all()

    # --- the lease service's part ---
    def place(self, free_slots: int) -> list[HostStart]:
        given, self.to_place = self.to_place[:free_slots], self.to_place[free_slots:]
        self.placed.update({h.host: h for h in given})
        return given

    # --- POST /api/agent/soa ---
    def poll(self, body: SoaPoll) -> SoaPollAnswer:
        """Take what the agent carries; answer at once with work for its hosts, else wait up to ``body.wait``."""
        body = SoaPoll.model_validate(body.model_dump(mode="json"))  # as it would arrive over HTTP
        with self.lock:
            self.polls.append(body)
            accepted = sum(self._take(r) for r in body.responses)
            for gone in body.ended:
                self.ended[gone.host] = gone
                for request in self.in_flight.pop(gone.host, {}).values():  # not answered: dispatch again
                    self._requeue(self.placed[gone.host].session, request)
            answer = self._dispatch(body, SoaPollAnswer(accepted=accepted))
            if body.wait and not answer.requests and not answer.stop:
                self.lock.wait(body.wait)
                answer = self._dispatch(body, answer)
            return answer

    def _dispatch(self, body: SoaPoll, answer: SoaPollAnswer) -> SoaPollAnswer:
        for state in body.hosts:
            start = self.placed.get(state.host)
            if start is None:
                answer.stop.append(state.host)
                continue
            if state.host in self.stopping:
                answer.stop.append(state.host)
                self.stopping.discard(state.host)
            queue = self.queues.get(start.session, deque())
            for _ in range(min(state.want, len(queue)) if state.ready else 0):
                request = queue.popleft()
                self.in_flight.setdefault(state.host, {})[(request.client_id, request.id)] = request
                answer.requests.append(HostRequest(host=state.host, client_id=request.client_id, id=request.id,
                                                   op=request.op, payload=request.payload, attempt=request.attempt))  # fmt: skip
            if start.session in self.data_urls:
                answer.data_urls[start.session] = self.data_urls[start.session]
        return answer

    def _take(self, response: HostResponse) -> bool:
        key = (response.client_id, response.id)
        request = self.in_flight.get(response.host, {}).pop(key, None)
        if key in self.responses:
            return True  # first writer wins
        if response.retry:
            self.retries.append(response)
            if request is not None:
                session = self.placed[response.host].session
                if not self._requeue(session, request) and response.fault is not None:
                    self.responses[key] = response  # out of attempts: the fault is the answer
            return True
        self.responses[key] = response
        return True

    def _requeue(self, session: str, request: Queued) -> bool:
        if request.attempt >= self.resend_limit:
            return False
        request.attempt += 1
        self.queues.setdefault(session, deque()).append(request)
        return True

    def value(self, request_id: str) -> Any:
        response = self.responses[("c1", request_id)]
        return response.value if response.ok else response.fault

    def fault(self, request_id: str) -> Fault:
        fault = self.responses[("c1", request_id)].fault
        assert fault is not None
        return fault
