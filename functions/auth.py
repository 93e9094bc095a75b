"""The one check every HTTP function makes first: who is calling, and may that kind of caller be here.

    who = caller(req)                      # any user
    who = caller(req, admin=True)          # admins only
    who = caller(req, NODE)                # node agents (their per-node credential)

No credential (or a bad one) is 401 ``Unauthenticated``; a valid credential of the wrong kind, or a
non-admin on an admin endpoint, is 403 ``Forbidden``. The health check is the one endpoint that calls
nothing here.
"""

from __future__ import annotations

import azure.functions as func

from hpcburst.domain.identity import CredentialKind, Principal
from hpcburst.errors import Forbidden
from hpcburst.services.root import services

USER = CredentialKind.USER
NODE = CredentialKind.NODE
JOIN = CredentialKind.JOIN
_WHAT = {USER: "user endpoints", NODE: "node agent endpoints", JOIN: "node registration"}


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
