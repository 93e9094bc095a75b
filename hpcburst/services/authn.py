"""Who sent a request: bearer secrets of ours, Microsoft Entra ID tokens, or App Service's signed-in user.

The HTTP edge hands over the ``Authorization`` and ``X-MS-CLIENT-PRINCIPAL`` header values; the answer is a
``Principal`` or ``Unauthenticated`` with a one-line reason. Entra tokens are checked only when an Entra
tenant (or issuer) and audience are configured, and the App Service header is believed only when
``HPCBURST_TRUST_APP_SERVICE_AUTH`` says the platform sets it (it strips the header from what clients send).
External identities are users; the admin app role makes them admins.
"""

from __future__ import annotations

from typing import Any

from hpcburst.domain.identity import CredentialKind, Principal
from hpcburst.errors import Unauthenticated
from hpcburst.services.identity import IdentityService

NO_CREDENTIAL = (
    "this API needs a credential: send `Authorization: Bearer <token>` "
    "(users: HPCBURST_TOKEN, from `hpcburst user add`; nodes: a pool join token)"
)


class Authenticator:
    def __init__(self, identity: IdentityService, entra: Any = None) -> None:
        self._identity = identity
        self._entra_settings = entra  # hpcburst.auth.entra.EntraSettings, or None
        self._verifier: Any = None

    def principal(self, authorization: str | None, client_principal: str | None = None) -> Principal:
        secret = _bearer(authorization)
        if secret is not None:
            if secret.startswith("hpb_"):
                return self._identity.authenticate(secret)
            return self._external_token(secret)
        if (
            client_principal
            and self._entra_settings is not None
            and self._entra_settings.trust_app_service_auth
        ):
            from hpcburst.auth.appservice import identity_from_client_principal

            who = identity_from_client_principal(client_principal, self._entra_settings.admin_role)
            return Principal(kind=CredentialKind.USER, name=who.name, admin=who.admin)
        raise Unauthenticated(NO_CREDENTIAL)

    def _external_token(self, token: str) -> Principal:
        settings = self._entra_settings
        if settings is None or not settings.jwt_enabled:
            raise Unauthenticated("the bearer token is not an hpcburst token (Entra ID is not configured)")
        if self._verifier is None:
            from hpcburst.auth.entra import EntraVerifier

            self._verifier = EntraVerifier(settings)
        who = self._verifier.verify(token)
        return Principal(kind=CredentialKind.USER, name=who.name, admin=who.admin)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must read `Bearer <token>`")
    return value.strip()
