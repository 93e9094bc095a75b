"""The broker's wire shapes: client <-> broker and node agent <-> broker, always in micro-batches.

A request is keyed by ``(client_id, id)`` inside its session; ``id`` is the client's choice (the SDK makes
unique ones), and a second request with the same key is a duplicate, never run twice. A response is keyed
the same way and the first one stored wins. ``payload`` and ``value`` are opaque to the broker: the SDK
sends ``{"args": [...], "kwargs": {...}}`` (JSON) or ``{"pickle": "<base64>"}``; hosts answer a JSON value
or ``{"pickle": ...}`` the same way. See ``docs/soa.md`` for the whole flow.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hpcburst.domain.soa.models import NAME_PATTERN

MAX_BATCH = 10_000  # items in one call, either way
MAX_WAIT = 60.0  # seconds a long-poll may wait
CLIENT_ID = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
REQUEST_ID = Field(min_length=1, max_length=128)
OPERATION = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- client <-> broker ---
class RequestItem(BaseModel):
    id: str = REQUEST_ID
    op: str = OPERATION
    payload: Any = None
    user_data: Any = None  # handed back with the response (kept by the broker, never sent to hosts)


class PostRequests(_Body):
    """``POST /api/sessions/{id}/requests``. Answered once every accepted item is queued (durable: stored)."""

    client_id: str = CLIENT_ID
    requests: list[RequestItem] = Field(max_length=MAX_BATCH)


class PostRequestsAnswer(BaseModel):
    accepted: int
    duplicates: int  # keys the session already had (a resend after a lost answer): not queued again


class Fault(BaseModel):
    """Why a request has no value: the operation raised, its host died or it timed out ``attempts`` times."""

    type: str  # the exception's class name, "HostDied", "OperationTimeout", "UnknownOperation", ...
    message: str
    attempts: int
    node: str | None = None  # where the last attempt ran
    traceback: str | None = None


class ResponseItem(BaseModel):
    id: str
    ok: bool
    value: Any = None
    fault: Fault | None = None
    user_data: Any = None


class GetResponses(_Body):
    """``POST /api/sessions/{id}/responses``: acknowledge ``ack`` (stored first), then long-poll for more.

    Each response is handed out once per client attachment; ``restart: true`` (a client attaching again)
    hands out every unacknowledged one again. Acknowledged responses are gone for good."""

    client_id: str = CLIENT_ID
    ack: list[str] = Field(default_factory=list, max_length=MAX_BATCH)
    max: int = Field(default=1000, ge=0, le=MAX_BATCH)
    wait: float = Field(default=0.0, ge=0, le=MAX_WAIT)
    restart: bool = False


class GetResponsesAnswer(BaseModel):
    responses: list[ResponseItem]
    outstanding: int  # this client's requests with no response handed out yet
    state: str  # the session's SessionState: Closed/Faulted means no more will come


class CloseSession(_Body):
    purge: bool = False  # also delete stored requests, responses and common data now


class PublishData(_Body):
    """``POST /api/sessions/{id}/data``: answers a write grant for ``hpc-data/sessions/<id>/<name>``."""

    name: str = Field(pattern=NAME_PATTERN)
    keep: bool = False  # keep it after the session ends (else deleted with the session)


class PublishDataAnswer(BaseModel):
    name: str
    url: str  # create+write SAS for that one blob, valid for an hour


# --- node agent <-> broker ---
class HostStart(BaseModel):
    """In ``LeaseResponse.hosts``: start one service host in one of the node's free slots."""

    host: str  # "<session>.<n>", unique for the session's life
    session: str
    service: str
    module: str
    package: str | None = None
    owner: str  # the session's owner: the host runs as that user's confined account, like a task
    environment: dict[str, str] = Field(default_factory=dict)  # CCP_SERVICENAME, HPC_SESSIONID included
    max_concurrent: int = 1
    operation_timeout: float
    init_timeout: float


class HostState(BaseModel):
    host: str
    ready: bool  # imported and serving
    want: int = Field(ge=0, le=MAX_BATCH)  # how many more requests it can take now (prefetch included)


class HostRequest(BaseModel):
    host: str
    client_id: str
    id: str
    op: str
    payload: Any = None
    attempt: int  # 1 on first dispatch


class HostResponse(BaseModel):
    """One outcome. ``retry``: the operation raised RetryOperation, or the call could not finish on this host
    (it died, timed out): the broker dispatches it again until ``resend_limit`` attempts, then a fault."""

    host: str
    client_id: str
    id: str
    attempt: int
    ok: bool
    value: Any = None
    fault: Fault | None = None
    retry: bool = False


class HostEnded(BaseModel):
    host: str
    reason: str  # "stopped" (asked), "died: exit -9", "init failed: ...", "init timeout"


class SoaPoll(_Body):
    """``POST /api/agent/soa`` (node credential): carry responses back and long-poll for requests.

    ``hosts`` lists every host the agent runs (a host the broker does not know is told to stop); a host it
    no longer lists is gone and its in-flight requests are retried. Answered at once when there are
    requests for a host that wants them, else after up to ``wait`` seconds."""

    node: str = Field(min_length=1, max_length=200)
    pool: str = Field(default="default", min_length=1, max_length=100)
    hosts: list[HostState] = Field(default_factory=list, max_length=4096)
    responses: list[HostResponse] = Field(default_factory=list, max_length=MAX_BATCH)
    ended: list[HostEnded] = Field(default_factory=list, max_length=4096)
    wait: float = Field(default=0.0, ge=0, le=MAX_WAIT)


class SoaPollAnswer(BaseModel):
    requests: list[HostRequest] = Field(default_factory=list)
    stop: list[str] = Field(default_factory=list)  # hosts to stop once their in-flight calls finish
    data_urls: dict[str, dict[str, str]] = Field(default_factory=dict)  # session -> name -> read SAS URL
    accepted: int = 0  # responses taken (stored, or already had a response: first writer wins)


class StoredResponse(ResponseItem):
    """A response as the broker and the journal keep it: with the client it belongs to."""

    client_id: str
