"""App Service Authentication ("Easy Auth"): the user the platform's front door has already signed in.

With Easy Auth on, App Service validates the caller's Entra token before the request reaches the app and
passes the result in the X-MS-CLIENT-PRINCIPAL header: base64 of JSON
``{"auth_typ", "claims": [{"typ", "val"}], "name_typ", "role_typ"}``.

The header carries no signature. It is only trustworthy because the platform strips it from incoming
requests and sets it itself; on any other host (the local runtime, a VM, Functions with Easy Auth off) a
caller can send it and be whoever it names. That is why it is honoured only when
HPCBURST_TRUST_APP_SERVICE_AUTH says the platform sets it.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, Field, ValidationError

from hpcburst.auth.entra import ExternalIdentity
from hpcburst.errors import Unauthorized

_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_NAME_ID = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"  # where `sub` lands
_NAME_FALLBACKS = ("preferred_username", _UPN, _OBJECT_ID)
_SUBJECTS = (_OBJECT_ID, "oid", _NAME_ID, "sub")
# The cluster's users are Entra users; a principal from another provider Easy Auth may also offer
# (GitHub, Google, ...) could otherwise take an Entra user's name.
_ENTRA = "aad"


class _Claim(BaseModel):
    typ: str
    val: str


class _ClientPrincipal(BaseModel):
    auth_typ: str
    claims: list[_Claim] = Field(min_length=1)
    name_typ: str | None = None
    role_typ: str | None = None

    def first(self, *types: str | None) -> str | None:
        """The value of the first claim of the first type present, in the order the types are given."""
        for typ in types:
            value = next((c.val for c in self.claims if typ and c.typ == typ and c.val), None)
            if value is not None:
                return value
        return None


def identity_from_client_principal(header_value: str, admin_role: str) -> ExternalIdentity:
    """The user an X-MS-CLIENT-PRINCIPAL header names; Unauthorized if it is malformed or names nobody."""
    principal = _decode(header_value)
    if principal.auth_typ != _ENTRA:
        raise Unauthorized("App Service principal is not from Microsoft Entra ID")
    subject = principal.first(*_SUBJECTS)
    if subject is None:
        raise Unauthorized("App Service principal names no user")
    name = principal.first(principal.name_typ, *_NAME_FALLBACKS) or subject
    roles = {c.val for c in principal.claims if c.typ in (principal.role_typ, "roles")}
    return ExternalIdentity(name=name, admin=admin_role in roles, source="appservice", subject=subject)


def _decode(header_value: str) -> _ClientPrincipal:
    try:
        raw = base64.b64decode(header_value.strip(), validate=True)
        return _ClientPrincipal.model_validate_json(raw)
    except (binascii.Error, ValidationError):
        raise Unauthorized("App Service principal header is malformed") from None
