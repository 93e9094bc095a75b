"""Pools (admins only): create, list, show, change, delete, and mint join secrets for nodes.

GET    /api/pools                     -> 200 {"pools": [Pool]}
POST   /api/pools                     body {"name", "allowed_workdirs"?: ["/abs"], "description"?} -> 201 Pool
GET    /api/pools/{pool}              -> 200 Pool
PATCH  /api/pools/{pool}              body {"allowed_workdirs"?, "description"?} -> 200 Pool
DELETE /api/pools/{pool}              -> 200 Pool (its join secrets are revoked; registered nodes keep theirs)
POST   /api/pools/{pool}/join-tokens  body {"revoke_others"?: false} -> 201 {"pool", "token"} (shown once)
Pool {"name", "allowed_workdirs", "description", "created_at"}
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import caller
from functions.http_common import handles_errors, json_response, parse
from hpcburst.api.models import JoinTokenAnswer, PoolList
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
    pools = services().pools
    name = req.route_params["pool"]
    return json_response(pools.update(name, change.applied_to(pools.get(name))))


@bp.route(route="pools/{pool}", methods=["DELETE"], auth_level=ANON)
@handles_errors
def delete_pool(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(services().pools.delete(req.route_params["pool"]))


@bp.route(route="pools/{pool}/join-tokens", methods=["POST"], auth_level=ANON)
@handles_errors
def join_token(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    spec = parse(JoinTokenRequest, req) if req.get_body() else JoinTokenRequest()
    name = req.route_params["pool"]
    secret = services().pools.join_token(name, revoke_others=spec.revoke_others)
    return json_response(JoinTokenAnswer(pool=name, token=secret), status=201)
