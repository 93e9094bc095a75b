"""The SOA API: service registrations, sessions (requests in, responses out) and the agents' SOA poll.

Every call needs a credential. Services: admins register and remove, any user lists and shows. Sessions:
any user starts one; only its owner (or an admin) uses it, to anyone else it is 404. Agents: the node
credential, naming its own node; a node moves requests only for hosts placed on it. Bodies are the models
of ``hpcburst.domain.soa`` (see docs/soa.md); errors as in ``functions/jobs_http.py``.

POST   /api/services                 ServiceRegistration -> 201 ServiceRegistration   (admins; replaces)
GET    /api/services                 -> 200 {"services": [ServiceRegistration...]}
GET    /api/services/{name}          -> 200 ServiceRegistration | 404
DELETE /api/services/{name}          -> 200 ServiceRegistration (admins; 409 while an open session uses it)
POST   /api/sessions                 SessionStartInfo -> 201 SessionView (400 names an unknown service)
GET    /api/sessions?state=          -> 200 {"sessions": [SessionView...]} (yours; admins: all)
GET    /api/sessions/{id}            -> 200 SessionView
POST   /api/sessions/{id}/requests   PostRequests -> 200 PostRequestsAnswer (409 once the session ended)
POST   /api/sessions/{id}/responses  GetResponses -> 200 GetResponsesAnswer (long-poll up to ``wait``)
POST   /api/sessions/{id}/close      CloseSession -> 200 SessionView
POST   /api/sessions/{id}/data       PublishData -> 200 PublishDataAnswer (write SAS for one blob)
POST   /api/agent/soa                SoaPoll -> 200 SoaPollAnswer (node credential; long-poll up to ``wait``)
"""

from __future__ import annotations

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from functions.auth import caller, node_request
from functions.http_common import handles_errors, json_response, parse
from hpcburst.api.models import ServiceList, SessionList
from hpcburst.domain.identity import Principal
from hpcburst.domain.soa.models import ServiceRegistration, SessionRecord, SessionStartInfo, SessionState
from hpcburst.domain.soa.protocol import (
    CloseSession,
    GetResponses,
    PostRequests,
    PublishData,
    PublishDataAnswer,
    SoaPoll,
)
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.services.root import services
from hpcburst.services.soa.services import SoaServices
from hpcburst.services.soa.sessions import session_view

bp = df.Blueprint()
ANON = func.AuthLevel.ANONYMOUS
log = logging.getLogger("hpcburst.functions")
SESSION_ORCHESTRATOR = "session_orchestrator"
CLOSE_EVENT = "close"


def instance_id(session: str) -> str:
    return f"soa-{session}"


# --- services ---
@bp.route(route="services", methods=["POST"], auth_level=ANON)
@handles_errors
def register_service(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req, admin=True)
    registration = parse(ServiceRegistration, req)
    return json_response(services().soa.registry.register(registration, who.name), status=201)


@bp.route(route="services", methods=["GET"], auth_level=ANON)
@handles_errors
def list_services(req: func.HttpRequest) -> func.HttpResponse:
    caller(req)
    return json_response(ServiceList(services=services().soa.registry.list_services()))


@bp.route(route="services/{name}", methods=["GET"], auth_level=ANON)
@handles_errors
def show_service(req: func.HttpRequest) -> func.HttpResponse:
    caller(req)
    return json_response(services().soa.registry.get(req.route_params["name"]))


@bp.route(route="services/{name}", methods=["DELETE"], auth_level=ANON)
@handles_errors
def remove_service(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    soa = services().soa
    return json_response(soa.registry.remove(req.route_params["name"], soa.sessions.open_using))


# --- sessions ---
@bp.route(route="sessions", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def create_session(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    who = caller(req)
    info = parse(SessionStartInfo, req)
    soa = services().soa
    try:
        registration = soa.registry.get(info.service)
    except NotFound as e:
        raise InvalidSpec(e.message, field="service") from None
    record = soa.sessions.create(info, who.name)
    soa.broker.open(record, registration)
    try:
        await client.start_new(SESSION_ORCHESTRATOR, instance_id(record.id), {"session": record.id})
    except Exception as e:  # noqa: BLE001 - the session works without it; only its housekeeping waits
        log.error("could not start %s for session %s: %s", SESSION_ORCHESTRATOR, record.id, e)
    return json_response(session_view(record, soa.broker), status=201)


@bp.route(route="sessions", methods=["GET"], auth_level=ANON)
@handles_errors
def list_sessions(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    state = _state(req.params.get("state"))
    soa = services().soa
    records = soa.sessions.list_sessions(owner=None if who.admin else who.name, state=state)
    return json_response(SessionList(sessions=[session_view(r, soa.broker) for r in records]))


@bp.route(route="sessions/{id}", methods=["GET"], auth_level=ANON)
@handles_errors
def view_session(req: func.HttpRequest) -> func.HttpResponse:
    soa, record = _session(req)
    return json_response(session_view(record, soa.broker))


@bp.route(route="sessions/{id}/requests", methods=["POST"], auth_level=ANON)
@handles_errors
def post_requests(req: func.HttpRequest) -> func.HttpResponse:
    soa, record = _session(req)
    body = parse(PostRequests, req)
    return json_response(soa.broker.submit(record.id, body.client_id, body.requests))


@bp.route(route="sessions/{id}/responses", methods=["POST"], auth_level=ANON)
@handles_errors
async def get_responses(req: func.HttpRequest) -> func.HttpResponse:
    soa, record = await asyncio.to_thread(_session, req)
    body = parse(GetResponses, req)
    if not await asyncio.to_thread(soa.hold, record):  # ended, and nothing of it kept: nothing more comes
        return json_response({"responses": [], "outstanding": 0, "state": record.state.value})
    return json_response(await soa.broker.responses(record.id, body))


@bp.route(route="sessions/{id}/close", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def close_session(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    soa, record = await asyncio.to_thread(_session, req)
    body = parse(CloseSession, req) if req.get_body() else CloseSession()
    soa.broker.close(record.id, body.purge, reason="closed by its client")
    closed = await asyncio.to_thread(soa.sessions.close, record.id, "closed by its client")
    try:
        await client.raise_event(instance_id(record.id), CLOSE_EVENT, {"purge": body.purge})
    except Exception as e:  # noqa: BLE001 - its orchestration may be gone; the broker has closed it
        log.info("could not raise %s on %s: %s", CLOSE_EVENT, instance_id(record.id), e)
    return json_response(session_view(closed, soa.broker))


@bp.route(route="sessions/{id}/data", methods=["POST"], auth_level=ANON)
@handles_errors
def publish_data(req: func.HttpRequest) -> func.HttpResponse:
    soa, record = _session(req)
    body = parse(PublishData, req)
    url = soa.data.publish(record.id, body.name)
    soa.sessions.add_data(record.id, body.name, body.keep)
    return json_response(PublishDataAnswer(name=body.name, url=url))


# --- node agents ---
@bp.route(route="agent/soa", methods=["POST"], auth_level=ANON)
@handles_errors
async def agent_soa(req: func.HttpRequest) -> func.HttpResponse:
    body = node_request(req, SoaPoll)
    soa = services().soa
    answer = await soa.broker.poll(body.node, body.pool, body)
    answer.data_urls = soa.data.read_urls(soa.broker.sessions_on(body.node))
    return json_response(answer)


def _session(req: func.HttpRequest) -> tuple[SoaServices, SessionRecord]:
    """The addressed session, when the caller (a user) owns it or is an admin; else 404."""
    who: Principal = caller(req)
    soa, session = services().soa, req.route_params["id"]
    held = soa.broker.record(session)  # the broker's copy: no store read per batch of an open session
    if held is not None and (held.owner == who.name or who.admin):
        return soa, held
    return soa, soa.sessions.visible(session, who)


def _state(raw: str | None) -> SessionState | None:
    if raw is None:  # absent; an empty ``state=`` names no state and is refused below
        return None
    try:
        return SessionState(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in SessionState)
        raise InvalidSpec(f"state={raw!r} is not a session state ({allowed})", field="state") from None
