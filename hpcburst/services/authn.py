"""Who sent a request: bearer secrets of ours, Microsoft Entra ID tokens, or App Service's signed-in user.

The HTTP edge hands over the ``Authorization`` and ``X-MS-CLIENT-PRINCIPAL`` header values; the answer is a
``Principal`` or ``Unauthenticated`` with a one-line reason. Entra tokens are checked only when an Entra
tenant (or issuer) and audience are configured, and the App Service header is believed only when
``HPCBURST_TRUST_APP_SERVICE_AUTH`` says the platform sets it (it strips the header from what clients send).
External identities are users; the admin app role makes them admins.
"""

from __future__ import annotations

import threading

from hpcburst.auth import tokens
from hpcburst.auth.appservice import identity_from_client_principal
from hpcburst.auth.entra import EntraSettings, EntraVerifier, looks_like_jwt
from hpcburst.domain.identity import CredentialKind, Principal
from hpcburst.errors import Unauthenticated
from hpcburst.services.identity import IdentityService

NO_CREDENTIAL = (
    "this API needs a credential: send `Authorization: Bearer <token>` "
    "(users: HPCBURST_TOKEN, from `hpcburst user add`; nodes: a pool join token)"
)


class Authenticator:
    def __init__(self, identity: IdentityService, entra: EntraSettings | None = None) -> None:
        self._identity = identity
        self._entra = entra
        self._verifier: EntraVerifier | None = None
        self._lock = threading.Lock()

    def principal(self, authorization: str | None, client_principal: str | None = None) -> Principal:
        secret = _bearer(authorization)
        if secret is not None:
            if secret.startswith(tokens.PREFIX):
                return self._identity.authenticate(secret)
            return self._external_token(secret)
        if client_principal and self._entra is not None and self._entra.trust_app_service_auth:
            who = identity_from_client_principal(client_principal, self._entra.admin_role)
            return Principal(kind=CredentialKind.USER, name=who.name, admin=who.admin)
        raise Unauthenticated(NO_CREDENTIAL)

    def _external_token(self, token: str) -> Principal:
        if self._entra is None or not self._entra.jwt_enabled or not looks_like_jwt(token):
            raise Unauthenticated(
                "the bearer token is not an hpcburst token (and Entra ID is not configured)"
            )
        with self._lock:  # one verifier (and JWKS cache) per process
            if self._verifier is None:
                self._verifier = EntraVerifier(self._entra)
            verifier = self._verifier
        who = verifier.verify(token)
        return Principal(kind=CredentialKind.USER, name=who.name, admin=who.admin)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must read `Bearer <token>`")
    return value.strip()
