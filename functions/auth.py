"""The one check every HTTP function makes first: who is calling, and may that kind of caller be here.

    who = caller(req)                      # any user
    who = caller(req, admin=True)          # admins only
    who = caller(req, NODE)                # node agents (their per-node credential)
    body = node_request(req, LeaseRequest) # an agent call's body, naming the caller's own node

No credential (or a bad one) is 401 ``Unauthenticated``; a valid credential of the wrong kind, or a
non-admin on an admin endpoint, is 403 ``Forbidden``. The health check is the one endpoint that calls
nothing here.
"""

from __future__ import annotations

from typing import TypeVar

import azure.functions as func
from pydantic import BaseModel

from functions.http_common import parse
from hpcburst.domain.identity import CredentialKind, Principal
from hpcburst.errors import Forbidden
from hpcburst.services.nodes import check_node
from hpcburst.services.root import services

M = TypeVar("M", bound=BaseModel)

USER = CredentialKind.USER
NODE = CredentialKind.NODE
JOIN = CredentialKind.JOIN
_WHAT = {USER: "user endpoints", NODE: "node agent endpoints", JOIN: "node registration"}


def node_request(req: func.HttpRequest, model: type[M]) -> M:
    """The body of an agent call, parsed, once its credential is shown to be that of the node (and pool) the
    body names: a node credential may act only for its own node."""
    who = caller(req, NODE)
    request = parse(model, req)
    check_node(who, getattr(request, "node", ""), getattr(request, "pool", None))
    return request


def caller(req: func.HttpRequest, *kinds: CredentialKind, admin: bool = False) -> Principal:
    allowed = kinds or (USER,)
    who = services().authn.principal(
        req.headers.get("authorization"), req.headers.get("x-ms-client-principal")
    )
    if who.kind not in allowed:
        wanted = " or ".join(_WHAT[k] for k in allowed)
        raise Forbidden(f"a {who.kind.value} credential cannot call {wanted}")
    if admin and not who.admin:
        raise Forbidden(f"only admins may do this; {who.name} is not an admin")
    return who
