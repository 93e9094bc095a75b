"""Pools (admins only): create, list, show, change, delete, and mint join secrets for nodes.

GET    /api/pools                     -> 200 {"pools": [Pool]}
POST   /api/pools                     body {"name", "allowed_workdirs"?: ["/abs"], "description"?} -> 201 Pool
GET    /api/pools/{pool}              -> 200 Pool
PATCH  /api/pools/{pool}              body {"allowed_workdirs"?, "description"?} -> 200 Pool
DELETE /api/pools/{pool}              -> 200 Pool (its join secrets are revoked; registered nodes keep theirs)
POST   /api/pools/{pool}/join-tokens  body {"revoke_others"?: false} -> 201 {"pool", "token"} (shown once)
POST   /api/pools/{pool}/nodes        body {"count": N} -> 201 {"pool", "nodes": [names]}  (the manual burst: N
                                      cloud nodes now, within max_nodes and the cost caps, else 409 with what fits)
A pool that still has cloud nodes cannot stop bursting (``no_burst``) or be deleted: 409 naming them.
Pool {"name", "allowed_workdirs", "description", "created_at"}
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import caller
from functions.http_common import handles_errors, json_response, parse
from hpcburst.api.models import JoinTokenAnswer, PoolList, StartedNodes, StartNodesRequest
from hpcburst.domain.pool import JoinTokenRequest, NewPool, PoolChange, PoolSpec
from hpcburst.services.root import services

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="pools", methods=["GET"], auth_level=ANON)
@handles_errors
def list_pools(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(PoolList(pools=services().pools.list_pools()))


@bp.route(route="pools", methods=["POST"], auth_level=ANON)
@handles_errors
def create_pool(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    spec = parse(NewPool, req)
    pool = services().pools.create(spec.name, PoolSpec.model_validate(spec.model_dump(exclude={"name"})))
    return json_response(pool, status=201)


@bp.route(route="pools/{pool}", methods=["GET"], auth_level=ANON)
@handles_errors
def show_pool(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(services().pools.get(req.route_params["pool"]))


@bp.route(route="pools/{pool}", methods=["PATCH"], auth_level=ANON)
@handles_errors
def change_pool(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    change = parse(PoolChange, req)
    s, name = services(), req.route_params["pool"]
    spec = change.applied_to(s.pools.get(name))
    if spec.burst is None:
        s.burst_admin.check_can_stop_bursting(name)
    return json_response(s.pools.update(name, spec))


@bp.route(route="pools/{pool}", methods=["DELETE"], auth_level=ANON)
@handles_errors
def delete_pool(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    s, name = services(), req.route_params["pool"]
    s.burst_admin.check_can_stop_bursting(name)
    return json_response(s.pools.delete(name))


@bp.route(route="pools/{pool}/join-tokens", methods=["POST"], auth_level=ANON)
@handles_errors
def join_token(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    spec = parse(JoinTokenRequest, req) if req.get_body() else JoinTokenRequest()
    name = req.route_params["pool"]
    secret = services().pools.join_token(name, revoke_others=spec.revoke_others)
    return json_response(JoinTokenAnswer(pool=name, token=secret), status=201)


@bp.route(route="pools/{pool}/nodes", methods=["POST"], auth_level=ANON)
@handles_errors
def start_nodes(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req, admin=True)
    spec = parse(StartNodesRequest, req)
    name = req.route_params["pool"]
    names = services().burst_admin.start_nodes(name, spec.count, who=who.name)
    return json_response(StartedNodes(pool=name, nodes=names), status=201)
