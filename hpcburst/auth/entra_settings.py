"""Entra settings: which tenant's tokens the API accepts, and whether App Service Authentication is trusted.

Built once from the environment at the edge (``EntraSettings.from_env``); an inconsistent combination is a
ConfigError naming the setting to fix, raised at start-up rather than on the first request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from hpcburst import constants as c
from hpcburst.errors import ConfigError

_AUTHORITY = "https://login.microsoftonline.com"
_MULTI_TENANT = {"common", "organizations", "consumers"}  # no single issuer, so no token could ever match
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")  # a GUID or a domain; it goes into URLs
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class EntraSettings:
    """Which tenant's tokens the API accepts; issuer and jwks_url are derived from tenant_id unless set."""

    tenant_id: str | None = None
    audience: str | None = None
    issuer: str | None = None
    jwks_url: str | None = None
    admin_role: str = "hpcburst.admin"
    trust_app_service_auth: bool = False
    leeway_seconds: float = 60

    def __post_init__(self) -> None:
        if self.tenant_id is not None:
            _check_tenant(self.tenant_id)
            # Frozen: the derived defaults are filled in once, here, so every reader sees the same URLs.
            if self.issuer is None:
                object.__setattr__(self, "issuer", f"{_AUTHORITY}/{self.tenant_id}/v2.0")
            if self.jwks_url is None:
                object.__setattr__(self, "jwks_url", f"{_AUTHORITY}/{self.tenant_id}/discovery/v2.0/keys")
        if self.jwks_url is not None:
            _check_jwks_url(self.jwks_url)
        if self.audience and not (self.issuer and self.jwks_url):
            raise ConfigError(
                f"{c.ENV_ENTRA_AUDIENCE} needs {c.ENV_ENTRA_TENANT_ID} "
                f"(or both {c.ENV_ENTRA_ISSUER} and {c.ENV_ENTRA_JWKS_URL})"
            )
        if (self.issuer or self.jwks_url) and not self.audience:
            # Without an audience, a token the tenant issued for any other app would be accepted.
            raise ConfigError(f"{c.ENV_ENTRA_AUDIENCE} is required when Entra tokens are accepted")
        if not self.admin_role:
            raise ConfigError(f"{c.ENV_ENTRA_ADMIN_ROLE} must not be empty")
        if self.leeway_seconds < 0:
            raise ConfigError("Entra leeway_seconds must not be negative")

    @property
    def jwt_enabled(self) -> bool:
        return bool(self.audience and self.issuer and self.jwks_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EntraSettings:
        env = os.environ if env is None else env
        return cls(
            tenant_id=env.get(c.ENV_ENTRA_TENANT_ID) or None,
            audience=env.get(c.ENV_ENTRA_AUDIENCE) or None,
            issuer=env.get(c.ENV_ENTRA_ISSUER) or None,
            jwks_url=env.get(c.ENV_ENTRA_JWKS_URL) or None,
            admin_role=env.get(c.ENV_ENTRA_ADMIN_ROLE) or "hpcburst.admin",
            trust_app_service_auth=_flag(env, c.ENV_TRUST_APP_SERVICE_AUTH),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    # A security switch: a typo must not silently mean either answer.
    raise ConfigError(f"{name}={value!r}: use true or false")


def _check_tenant(tenant: str) -> None:
    if not _TENANT.fullmatch(tenant):
        raise ConfigError(f"{c.ENV_ENTRA_TENANT_ID} must be a tenant id (GUID) or domain")
    if tenant.lower() in _MULTI_TENANT:
        raise ConfigError(f"{c.ENV_ENTRA_TENANT_ID}={tenant!r}: name the cluster's own tenant")


def _check_jwks_url(url: str) -> None:
    parts = urlsplit(url)
    # Plain http would let anyone on the path swap the keys; it is allowed only on this machine (tests).
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)):
        raise ConfigError(f"{c.ENV_ENTRA_JWKS_URL} must be an https URL")
