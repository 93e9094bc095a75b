"""The agent's side of the agent protocol: typed calls to POST /api/agent/{register,heartbeat,lease,report,grants,soa}.

Outbound HTTP(S) only. One ``AgentApi`` per thread (each holds its own connection), so a long-poll
lease never delays a heartbeat or a report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx

from hpcburst.client.http import send, unwrap
from hpcburst.domain.protocol import (
    GrantsRequest,
    GrantsResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    LeaseRequest,
    LeaseResponse,
    RegisterRequest,
    RegisterResponse,
    ReportRequest,
    ReportResponse,
    RunningRef,
)
from hpcburst.domain.soa.protocol import SoaPoll, SoaPollAnswer

CALL_TIMEOUT = 30.0  # seconds for any call beyond its long-poll wait


class AgentApi:
    def __init__(self, url: str, token: Callable[[], str | None] | str | None = None) -> None:
        """``token``: the bearer secret, or a callable asked before every call (credentials change when
        the agent registers)."""
        self.url = url.rstrip("/")
        self._token = token if callable(token) else (lambda: token)  # type: ignore[return-value]
        self._http = httpx.Client(base_url=self.url, timeout=CALL_TIMEOUT)

    def register(self, request: RegisterRequest) -> RegisterResponse:
        return RegisterResponse.model_validate(
            self._post("/api/agent/register", request.model_dump(mode="json"))
        )

    def heartbeat(self, request: HeartbeatRequest) -> HeartbeatResponse:
        return HeartbeatResponse.model_validate(
            self._post("/api/agent/heartbeat", request.model_dump(mode="json"))
        )

    def lease(self, request: LeaseRequest) -> LeaseResponse:
        body = self._post(
            "/api/agent/lease", request.model_dump(mode="json"), CALL_TIMEOUT + request.wait_seconds
        )
        return LeaseResponse.model_validate(body)

    def report(self, request: ReportRequest) -> ReportResponse:
        body = self._post("/api/agent/report", request.model_dump(mode="json", exclude_none=True))
        return ReportResponse.model_validate(body)

    def grants(self, request: GrantsRequest) -> GrantsResponse:
        return GrantsResponse.model_validate(self._post("/api/agent/grants", request.model_dump(mode="json")))

    def soa(self, poll: SoaPoll) -> SoaPollAnswer:
        """Carry host responses back and long-poll up to ``poll.wait`` seconds for requests."""
        body = self._post(
            "/api/agent/soa", poll.model_dump(mode="json", exclude_none=True), CALL_TIMEOUT + poll.wait
        )
        return SoaPollAnswer.model_validate(body)

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: object, timeout: float = CALL_TIMEOUT) -> object:
        token = self._token()
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return unwrap(send(self._http, self.url, "POST", path, json=body, timeout=timeout, headers=headers))


def cancel_runs(response: HeartbeatResponse | LeaseResponse, sent: list[RunningRef]) -> list[RunningRef]:
    """The (task, attempt)s the service says to kill. A service of the previous release names task keys
    only (``cancel``): such a key is applied only when ``sent`` held a single attempt of that task, never
    guessed among two (the next call, listing fewer, settles it). Drop this with ``cancel``."""
    if "cancel_runs" in response.model_fields_set or not response.cancel:
        return response.cancel_runs
    named, attempts = set(response.cancel), Counter(r.task for r in sent)
    return [r for r in sent if r.task in named and attempts[r.task] == 1]
