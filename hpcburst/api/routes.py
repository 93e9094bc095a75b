"""The route table: every HTTP function of the app, the one source of the OpenAPI document.

An entry names the function (as registered in ``functions/*.py``), its method and path, who calls it
(``Audience``), its request body and query parameters, and its answers: a pydantic model per success
status and the error statuses (each answered with ``ErrorBody``). Every route but a ``PUBLIC`` one
needs the bearer token, so the generator adds 401 and 403 to it. ``tests/functions/test_openapi.py``
fails when the app registers an HTTP function this table lacks, or the two disagree on method or path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from hpcburst.api.models import (
    BurstLog,
    Health,
    JobList,
    JoinTokenAnswer,
    NewTokenAnswer,
    NewUserAnswer,
    NodeList,
    PoolList,
    RequeueRequest,
    ServiceList,
    SessionList,
    StartedNodes,
    StartNodesRequest,
    StopNodesAnswer,
    StopNodesRequest,
    SubmitAnswer,
    TaskList,
    TemplateList,
    TokenList,
    UserList,
)
from hpcburst.domain.burst.status import BurstStatus, PoolBurstStatus
from hpcburst.domain.cost import CostBy, CostReport
from hpcburst.domain.identity import NewToken, NewUser, TokenInfo, User, WhoAmI
from hpcburst.domain.job import Job, JobSpec, JobView, RequeueResult
from hpcburst.domain.node import Node
from hpcburst.domain.pool import JoinTokenRequest, NewPool, Pool, PoolChange
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
)
from hpcburst.domain.soa.models import ServiceRegistration, SessionStartInfo, SessionState, SessionView
from hpcburst.domain.soa.protocol import (
    CloseSession,
    GetResponses,
    GetResponsesAnswer,
    PostRequests,
    PostRequestsAnswer,
    PublishData,
    PublishDataAnswer,
    SoaPoll,
    SoaPollAnswer,
)
from hpcburst.domain.states import JobState, TaskState
from hpcburst.domain.task import TaskView
from hpcburst.domain.template import JobTemplate, NewTemplate

OPENAPI = "openapi"  # a document answer (the OpenAPI document itself): any JSON object
BINARY = "binary"  # raw bytes, application/octet-stream
Answer = type[BaseModel] | str


class Audience(StrEnum):
    """Who calls a route; the OpenAPI tag. Admins may also do what users do."""

    PUBLIC = "public"  # no token at all (the health check only)
    USER = "users"  # people and programs submitting and watching work (CLI, SDK)
    ADMIN = "admins"  # operators: node state, users, pools and join tokens
    NODE = "nodes"  # node agents: a pool's join secret to register, then the node's own credential


@dataclass(frozen=True)
class Query:
    name: str
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Route:
    function: str  # the function's name in the app (``get_function_name()``)
    method: str
    path: str  # OpenAPI path, route prefix included: "/api/jobs/{job}"
    summary: str
    audience: Audience
    answers: Mapping[int, Answer]  # success status -> body model (or OPENAPI / BINARY)
    errors: tuple[int, ...] = (400,)  # statuses answered with ErrorBody (401/403 are added when secured)
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: tuple[Query, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # path parameter schemas
    # OpenAPI links from the first success answer: operation (function name) -> {parameter: expression}
    links: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def secured(self) -> bool:
        return self.audience != Audience.PUBLIC


def _states(states: type[StrEnum]) -> dict[str, Any]:
    return {"type": "string", "enum": [s.value for s in states]}


def _limit(default: int) -> Query:
    return Query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": default}, "page size")


_CONTINUATION = Query("continuation", {"type": "string"}, "the previous page's continuation")
_JOB = {"type": "string", "minLength": 1, "description": "job id, e.g. 12"}
_INDEX = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "description": "INDEX or TASK.INDEX"}
_NODE = {"type": "string", "minLength": 1, "maxLength": 200, "description": "node name"}
_USER = {"type": "string", "minLength": 1, "maxLength": 100, "description": "user name"}
_TOKEN = {"type": "string", "minLength": 1, "maxLength": 64, "description": "public token id"}
_POOL = {"type": "string", "minLength": 1, "maxLength": 100, "description": "pool name"}
_TEMPLATE = {"type": "string", "minLength": 1, "maxLength": 100, "description": "template name"}
_SERVICE = {"type": "string", "minLength": 1, "maxLength": 64, "description": "service name"}
_SESSION = {"type": "string", "minLength": 1, "maxLength": 64, "description": "session id, e.g. sk3j5..."}
_SINCE = Query("since", {"type": "number"}, "only decisions at or after this time (epoch seconds)")
_COST_BY = Query(
    "by",
    {**_states(CostBy), "default": CostBy.JOB.value},
    "rows per job (yours; admins: all), per user (yours; admins: all) or per pool (admins)",
)
_SPEND_SINCE = Query("since", {"type": "number"}, "only spend at or after this time (epoch seconds)")
_WATCH = (
    Query("wait", {"type": "integer", "minimum": 0, "maximum": 60, "default": 0},
          "seconds to wait for the progress to differ from `known`"),
    Query("known", {"type": "string", "maxLength": 200}, "the `progress` of the last answer"),
)  # fmt: skip
_NEW_JOB = {"job": "$response.body#/id"}
_JOB_LINKS = {op: _NEW_JOB for op in ("view_job", "cancel_job", "requeue_job", "list_tasks", "view_task")}
_NEW_NODE = {"node": "$response.body#/node"}
U, A, N = Audience.USER, Audience.ADMIN, Audience.NODE

# fmt: off
ROUTES: tuple[Route, ...] = (
    Route("health", "GET", "/api/health", "Liveness: the app answers", Audience.PUBLIC, {200: Health}, ()),
    Route("openapi", "GET", "/api/openapi.json", "This OpenAPI document", U, {200: OPENAPI}, ()),
    # --- jobs (functions/jobs_http.py) ---
    Route("submit_job", "POST", "/api/jobs", "Submit a job (JSON, or HPC Pack job XML as application/xml)", U,
          {201: SubmitAnswer}, (400, 413), body=JobSpec,
          links=_JOB_LINKS),
    Route("list_jobs", "GET", "/api/jobs", "List jobs, newest first", U, {200: JobList},
          query=(Query("state", _states(JobState)), Query("owner", {"type": "string"}), _limit(50),
                 _CONTINUATION)),
    Route("view_job", "GET", "/api/jobs/{job}", "A job with its per-state index counts (long-poll: wait, known)",
          U, {200: JobView}, (400, 404), params={"job": _JOB}, query=_WATCH),
    Route("cancel_job", "POST", "/api/jobs/{job}/cancel", "Cancel a job (running indices are killed)", U,
          {200: Job}, (400, 404, 409), params={"job": _JOB},
          query=(Query("force", {"type": "boolean", "default": False}, "true: its NodeRelease does not run"),)),
    Route("requeue_job", "POST", "/api/jobs/{job}/requeue", "Run Failed and Canceled indices again", U,
          {200: RequeueResult}, (400, 404, 409, 413), body=RequeueRequest, body_required=False,
          params={"job": _JOB}),
    Route("list_tasks", "GET", "/api/jobs/{job}/tasks", "A job's dispatched indices, in index order", U,
          {200: TaskList}, (400, 404), query=(Query("state", _states(TaskState)), _limit(100), _CONTINUATION),
          params={"job": _JOB}),
    Route("view_task", "GET", "/api/jobs/{job}/tasks/{index}", "One index with its substituted command", U,
          {200: TaskView}, (400, 404), params={"job": _JOB, "index": _INDEX}),
    Route("task_output", "GET", "/api/jobs/{job}/tasks/{index}/output", "An index's stdout or stderr bytes",
          U, {200: BINARY}, (400, 404), params={"job": _JOB, "index": _INDEX},
          query=(Query("stream", {"type": "string", "enum": ["stdout", "stderr"], "default": "stdout"}),)),
    # --- nodes (functions/nodes_http.py) ---
    Route("list_nodes", "GET", "/api/nodes", "Registered nodes", U, {200: NodeList}, ()),
    Route("node_offline", "POST", "/api/nodes/{node}/offline", "Drain a node", A, {200: Node}, (400, 404, 409),
          params={"node": _NODE}),
    Route("node_online", "POST", "/api/nodes/{node}/online", "Bring a node back online", A, {200: Node},
          (400, 404, 409), params={"node": _NODE}),
    # --- node agents (functions/agent_http.py) ---
    Route("agent_register", "POST", "/api/agent/register", "Register (or re-register) a node", N,
          {200: RegisterResponse}, (400, 409, 413), body=RegisterRequest,
          links={"node_offline": _NEW_NODE, "node_online": _NEW_NODE}),
    Route("agent_heartbeat", "POST", "/api/agent/heartbeat", "Heartbeat: what to kill, whether to drain", N,
          {200: HeartbeatResponse}, (400, 404, 409, 413), body=HeartbeatRequest),
    Route("agent_lease", "POST", "/api/agent/lease", "Lease indices to run (long-poll)", N,
          {200: LeaseResponse}, (400, 404, 409, 413), body=LeaseRequest),
    Route("agent_report", "POST", "/api/agent/report", "Report results (idempotent)", N,
          {200: ReportResponse}, (400, 409, 413), body=ReportRequest),
    Route("agent_grants", "POST", "/api/agent/grants", "Storage grants for a held lease, or segment blobs", N,
          {200: GrantsResponse}, (400, 404, 413), body=GrantsRequest),
    # --- identity (functions/users_http.py) ---
    Route("whoami", "GET", "/api/whoami", "Who the credential belongs to", U, {200: WhoAmI}, ()),
    Route("list_users", "GET", "/api/users", "Users", A, {200: UserList}, ()),
    Route("add_user", "POST", "/api/users", "Add a user; answers their first token (shown once)", A,
          {201: NewUserAnswer}, (400, 409, 413), body=NewUser),
    Route("remove_user", "DELETE", "/api/users/{name}", "Remove a user and revoke their tokens", A,
          {200: User}, (400, 404), params={"name": _USER}),
    Route("list_tokens", "GET", "/api/tokens", "Your tokens (admins: anyone's)", U, {200: TokenList}, (400,),
          query=(Query("user", {"type": "string"}),)),
    Route("create_token", "POST", "/api/tokens", "A further token (shown once)", U, {201: NewTokenAnswer},
          (400, 404, 413), body=NewToken),
    Route("revoke_token", "DELETE", "/api/tokens/{id}", "Revoke a token", U, {200: TokenInfo}, (400, 404),
          params={"id": _TOKEN}),
    # --- pools (functions/pools_http.py) ---
    Route("list_pools", "GET", "/api/pools", "Pools", A, {200: PoolList}, ()),
    Route("create_pool", "POST", "/api/pools", "Create a pool", A, {201: Pool}, (400, 409, 413), body=NewPool),
    Route("show_pool", "GET", "/api/pools/{pool}", "One pool", A, {200: Pool}, (400, 404),
          params={"pool": _POOL}),
    Route("change_pool", "PATCH", "/api/pools/{pool}", "Change a pool", A, {200: Pool}, (400, 404, 409, 413),
          body=PoolChange, params={"pool": _POOL}),
    Route("delete_pool", "DELETE", "/api/pools/{pool}", "Delete a pool and revoke its join tokens", A,
          {200: Pool}, (400, 404, 409), params={"pool": _POOL}),
    Route("start_nodes", "POST", "/api/pools/{pool}/nodes", "Start cloud nodes now (the manual burst)", A,
          {201: StartedNodes}, (400, 404, 409, 413, 429, 502, 503), body=StartNodesRequest, params={"pool": _POOL}),
    Route("stop_nodes", "POST", "/api/nodes/stop", "Stop cloud nodes: drain, then delete", A,
          {200: StopNodesAnswer}, (400, 404, 413), body=StopNodesRequest),
    # --- job templates (functions/templates_http.py) ---
    Route("list_templates", "GET", "/api/templates", "Job templates (defaults and limits)", U,
          {200: TemplateList}, ()),
    Route("create_template", "POST", "/api/templates", "Create a job template", A, {201: JobTemplate},
          (400, 409, 413), body=NewTemplate),
    Route("show_template", "GET", "/api/templates/{name}", "One job template", U, {200: JobTemplate}, (400, 404),
          params={"name": _TEMPLATE}),
    Route("delete_template", "DELETE", "/api/templates/{name}", "Delete a job template", A, {200: JobTemplate},
          (400, 404), params={"name": _TEMPLATE}),
    # --- burst (functions/burst_http.py) ---
    Route("burst_status", "GET", "/api/burst", "Burstable pools, cloud nodes and the last decision", A,
          {200: BurstStatus}, ()),
    Route("burst_log", "GET", "/api/burst/log", "The burst controller's decisions with their reasons", A,
          {200: BurstLog}, (400,), query=(_limit(50), _SINCE)),
    Route("enable_pool", "POST", "/api/burst/pools/{pool}/enable", "Re-enable a pool disabled by boot failures",
          A, {200: PoolBurstStatus}, (400, 404, 409), params={"pool": _POOL}),
    Route("join_token", "POST", "/api/pools/{pool}/join-tokens", "A new join token (shown once)", A,
          {201: JoinTokenAnswer}, (400, 404, 413), body=JoinTokenRequest, body_required=False,
          params={"pool": _POOL}),
    # --- cost (functions/cost_http.py) ---
    Route("cost_report", "GET", "/api/cost", "What cloud node time cost, by job, user or pool", U,
          {200: CostReport}, (400,), query=(_COST_BY, _SPEND_SINCE)),
    # --- SOA services and sessions (functions/soa_http.py) ---
    Route("register_service", "POST", "/api/services", "Register (or replace) a SOA service", A,
          {201: ServiceRegistration}, (400, 413), body=ServiceRegistration),
    Route("list_services", "GET", "/api/services", "Registered SOA services", U, {200: ServiceList}, ()),
    Route("show_service", "GET", "/api/services/{name}", "One SOA service", U, {200: ServiceRegistration},
          (400, 404), params={"name": _SERVICE}),
    Route("remove_service", "DELETE", "/api/services/{name}", "Remove a SOA service (none of its sessions open)",
          A, {200: ServiceRegistration}, (400, 404, 409), params={"name": _SERVICE}),
    Route("create_session", "POST", "/api/sessions", "Start a SOA session", U, {201: SessionView},
          (400, 413), body=SessionStartInfo),
    Route("list_sessions", "GET", "/api/sessions", "Your SOA sessions (admins: all), newest first", U,
          {200: SessionList}, (400,), query=(Query("state", _states(SessionState)),)),
    Route("view_session", "GET", "/api/sessions/{id}", "A SOA session with its counts and hosts", U,
          {200: SessionView}, (400, 404), params={"id": _SESSION}),
    Route("post_requests", "POST", "/api/sessions/{id}/requests", "Send a batch of requests", U,
          {200: PostRequestsAnswer}, (400, 404, 409, 413), body=PostRequests, params={"id": _SESSION}),
    Route("get_responses", "POST", "/api/sessions/{id}/responses",
          "Acknowledge responses, then take more (long-poll)", U, {200: GetResponsesAnswer}, (400, 404, 413),
          body=GetResponses, params={"id": _SESSION}),
    Route("close_session", "POST", "/api/sessions/{id}/close", "Close a SOA session (purge: delete its data)", U,
          {200: SessionView}, (400, 404, 413), body=CloseSession, body_required=False, params={"id": _SESSION}),
    Route("publish_data", "POST", "/api/sessions/{id}/data", "A write grant for one blob of session data", U,
          {200: PublishDataAnswer}, (400, 404, 413), body=PublishData, params={"id": _SESSION}),
    Route("agent_soa", "POST", "/api/agent/soa", "Carry host responses, take requests for hosts (long-poll)", N,
          {200: SoaPollAnswer}, (400, 404, 409, 413), body=SoaPoll),
)
# fmt: on
