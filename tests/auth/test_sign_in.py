"""Signing in to the cluster's API with Microsoft Entra ID, as the HTTP edge does it (``Authenticator``):
our own tokens, Entra access tokens checked against the tenant's keys, and App Service's signed-in user
only where the platform is trusted to set it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from entra_fakes import AUDIENCE, ISSUER, TENANT, JwksServer, Signer, claims

from hpcburst.auth.entra import EntraSettings
from hpcburst.domain.identity import CredentialKind
from hpcburst.errors import Unauthenticated
from hpcburst.services.root import Services, build
from hpcburst.storage.state.sqlite import SqliteStateStore


def _services(tmp_path: Path, settings: EntraSettings | None) -> Iterator[Services]:
    services = build(SqliteStateStore(tmp_path / "state.db"), entra=settings)
    yield services
    services.close()


@pytest.fixture
def entra(jwks: JwksServer) -> EntraSettings:
    return EntraSettings(tenant_id=TENANT, audience=AUDIENCE, issuer=ISSUER, jwks_url=jwks.url)


@pytest.fixture
def services(tmp_path: Path, entra: EntraSettings) -> Iterator[Services]:
    yield from _services(tmp_path, entra)


def _principal_header(name: str, roles: list[str], auth_typ: str = "aad") -> str:
    body = {
        "auth_typ": auth_typ,
        "name_typ": "preferred_username",
        "role_typ": "roles",
        "claims": [
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "0000eeee-0000"},
            {"typ": "preferred_username", "val": name},
            *({"typ": "roles", "val": r} for r in roles),
        ],
    }
    return base64.b64encode(json.dumps(body).encode()).decode()


def test_an_entra_access_token_signs_in_its_user_and_the_admin_role_makes_an_admin(
    services: Services, signer: Signer
) -> None:
    who = services.authn.principal(f"Bearer {signer.sign(claims())}")
    assert (who.kind, who.name, who.admin) == (CredentialKind.USER, "ada@contoso.example", False)
    admin = services.authn.principal(f"Bearer {signer.sign(claims(roles=['hpcburst.admin']))}")
    assert admin.admin


def test_an_entra_token_for_another_api_or_signed_by_a_stranger_is_401(
    services: Services, signer: Signer
) -> None:
    stranger = Signer("not-the-tenants")
    for token in (signer.sign(claims(aud="api://someone-else")), stranger.sign(claims(), kid=signer.kid)):
        with pytest.raises(Unauthenticated):
            services.authn.principal(f"Bearer {token}")


def test_our_own_tokens_still_work_beside_entra(services: Services) -> None:
    _, secret = services.identity.add_user("bob")
    assert services.authn.principal(f"Bearer {secret}").name == "bob"


def test_without_entra_settings_a_jwt_is_refused_with_the_reason(tmp_path: Path, signer: Signer) -> None:
    for services in _services(tmp_path, None):
        with pytest.raises(Unauthenticated, match="Entra ID is not configured"):
            services.authn.principal(f"Bearer {signer.sign(claims())}")


def test_the_app_service_header_counts_only_where_the_platform_is_trusted_to_set_it(
    tmp_path: Path, entra: EntraSettings
) -> None:
    header = _principal_header("eve@contoso.example", ["hpcburst.admin"])
    for services in _services(tmp_path / "untrusted", entra):
        with pytest.raises(Unauthenticated):
            services.authn.principal(None, header)  # anyone could send it: ignored
    trusted = EntraSettings(
        tenant_id=TENANT,
        audience=AUDIENCE,
        issuer=ISSUER,
        jwks_url=entra.jwks_url,
        trust_app_service_auth=True,
    )
    for services in _services(tmp_path / "trusted", trusted):
        who = services.authn.principal(None, header)
        assert (who.name, who.admin) == ("eve@contoso.example", True)
