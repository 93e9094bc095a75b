"""Users and tokens (admins manage users; every user manages their own tokens).

GET    /api/whoami              -> 200 WhoAmI {"kind", "name", "admin", "pool"}   (any credential)
GET    /api/users               -> 200 {"users": [User]}                                        (admin)
POST   /api/users               body {"name", "admin"?: false} -> 201 {"user": User, "token": secret}  (admin)
DELETE /api/users/{name}        -> 200 User (and every token of theirs is revoked)                   (admin)
GET    /api/tokens?user=        -> 200 {"tokens": [TokenInfo]}  (own; admin: any user's, or every token)
POST   /api/tokens              body {"user"?, "description"?, "expires_in"?: s} -> 201 {"token", "record"}
DELETE /api/tokens/{id}         -> 200 TokenInfo (own tokens; admin: any token, node and join ones too)
Secrets are shown once, at creation; the service keeps only their sha256.
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import JOIN, NODE, USER, caller
from functions.http_common import handles_errors, json_response, parse
from hpcburst.api.models import NewTokenAnswer, NewUserAnswer, TokenList, UserList
from hpcburst.domain.identity import CredentialKind, NewToken, NewUser, WhoAmI
from hpcburst.errors import NotFound
from hpcburst.services.root import services

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="whoami", methods=["GET"], auth_level=ANON)
@handles_errors
def whoami(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req, USER, NODE, JOIN)
    return json_response(WhoAmI(kind=who.kind, name=who.name, admin=who.admin, pool=who.pool))


@bp.route(route="users", methods=["GET"], auth_level=ANON)
@handles_errors
def list_users(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(UserList(users=services().identity.list_users()))


@bp.route(route="users", methods=["POST"], auth_level=ANON)
@handles_errors
def add_user(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req, admin=True)
    spec = parse(NewUser, req)
    user, secret = services().identity.add_user(spec.name, spec.admin, by=who.name)
    return json_response(NewUserAnswer(user=user, token=secret), status=201)


@bp.route(route="users/{name}", methods=["DELETE"], auth_level=ANON)
@handles_errors
def remove_user(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req, admin=True)
    return json_response(services().identity.remove_user(req.route_params["name"], who))


@bp.route(route="tokens", methods=["GET"], auth_level=ANON)
@handles_errors
def list_tokens(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    user = req.params.get("user") or None
    if not who.admin:
        user = who.name
    kind = CredentialKind.USER if not who.admin or user else None
    records = services().identity.list_tokens(kind, user)
    return json_response(TokenList(tokens=[r.public() for r in records]))


@bp.route(route="tokens", methods=["POST"], auth_level=ANON)
@handles_errors
def create_token(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    spec = parse(NewToken, req)
    user = spec.user or who.name
    identity = services().identity
    if user != who.name and not who.admin:
        raise NotFound(f"no user {user!r}")  # a user cannot even learn which other users exist
    if identity.user(user) is None:
        raise NotFound(f"no user {user!r}; see `hpcburst user list`")
    secret, record = identity.issue(
        CredentialKind.USER, user, description=spec.description, lifetime=spec.expires_in
    )
    return json_response(NewTokenAnswer(token=secret, record=record.public()), status=201)


@bp.route(route="tokens/{id}", methods=["DELETE"], auth_level=ANON)
@handles_errors
def revoke_token(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    return json_response(services().identity.revoke(req.route_params["id"], by=who).public())
