"""Microsoft Entra ID access tokens: the verifier that checks them, and the identity a valid one names.

The verifier trusts only RS256 signatures by keys the tenant publishes (its JWKS), and only tokens issued by
that tenant for this cluster's API (issuer and audience), within their lifetime. It works on any host: the
local runtime, a VM, or Functions without App Service Authentication.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from hpcburst import constants as c
from hpcburst.auth.entra_settings import EntraSettings
from hpcburst.errors import ConfigError, Unauthorized

__all__ = ["EntraSettings", "EntraVerifier", "ExternalIdentity", "looks_like_jwt"]

log = logging.getLogger("hpcburst.auth")

_ALGORITHMS = ["RS256"]  # Entra signs access tokens with RS256; anything else (none, HS256) is refused
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_JWKS_TIMEOUT = 10.0  # seconds; a request waits on this at most once per key-set refresh

_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "Entra token expired"),
    (jwt.ImmatureSignatureError, "Entra token is not valid yet"),
    (jwt.InvalidAudienceError, "Entra token audience is not this cluster's"),
    (jwt.InvalidIssuerError, "Entra token issuer is not this cluster's tenant"),
    (jwt.MissingRequiredClaimError, "Entra token lacks a required claim"),
    (jwt.InvalidSignatureError, "Entra token signature is invalid"),
)


@dataclass(frozen=True)
class ExternalIdentity:
    """A user the platform's identity provider vouches for; subject (oid or sub) is the stable id."""

    name: str
    admin: bool
    source: Literal["entra", "appservice"]
    subject: str


class EntraVerifier:
    """Verifies Entra access tokens; the tenant's key set is fetched on first use and cached."""

    def __init__(self, settings: EntraSettings, *, jwks_refresh_cooldown: float = 30.0) -> None:
        if not settings.jwt_enabled or settings.jwks_url is None:
            raise ConfigError(f"Entra tokens need {c.ENV_ENTRA_AUDIENCE} and {c.ENV_ENTRA_TENANT_ID}")
        self.settings = settings
        # An unknown kid (key rotation) forces a refresh of the cached set, but at most once per cooldown,
        # so tokens with made-up kids cannot make every request fetch the tenant's keys.
        self._keys = jwt.PyJWKClient(
            settings.jwks_url, timeout=_JWKS_TIMEOUT, cooldown_duration=jwks_refresh_cooldown
        )

    def verify(self, token: str) -> ExternalIdentity:
        """The identity a valid token names; Unauthorized, with a one-line reason, for anything else."""
        key = self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=_ALGORITHMS,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(
                next((r for t, r in _REASONS if isinstance(error, t)), "Entra token is invalid")
            ) from None
        return _identity(claims, self.settings.admin_role)

    def _signing_key(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("Entra token is malformed") from None
        # Checked before any key lookup, so unsigned or HMAC tokens never cost a JWKS fetch.
        if header.get("alg") not in _ALGORITHMS:
            raise Unauthorized("Entra token is not signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthorized("Entra token names no signing key")
        try:
            key = self._keys.get_signing_key(kid)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError, ValueError) as error:
            log.warning("Entra signing keys unavailable from %s: %s", self.settings.jwks_url, error)
            raise Unauthorized("Entra signing keys are unavailable") from None
        except jwt.PyJWKClientError:
            raise Unauthorized("Entra token is signed by an unknown key") from None
        if key.algorithm_name not in _ALGORITHMS:
            raise Unauthorized("Entra token is signed by an unknown key")
        return key.key


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments (the last may be empty, so unsigned tokens reach the verifier and fail)."""
    return _JWT_SHAPE.fullmatch(token) is not None


def _identity(claims: Mapping[str, Any], admin_role: str) -> ExternalIdentity:
    subject = _first_str(claims, ("oid", "sub"))
    if subject is None:
        raise Unauthorized("Entra token names no user")
    name = _first_str(claims, ("preferred_username", "upn")) or subject
    roles = claims.get("roles")
    admin = isinstance(roles, list) and admin_role in roles
    return ExternalIdentity(name=name, admin=admin, source="entra", subject=subject)


def _first_str(claims: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((v for n in names if isinstance(v := claims.get(n), str) and v), None)
