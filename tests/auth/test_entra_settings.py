"""Entra settings from the environment: derived endpoints, and every inconsistent combination named."""

from __future__ import annotations

import pytest

from hpcburst.auth.entra import EntraSettings
from hpcburst.errors import ConfigError

TENANT = "11111111-2222-3333-4444-555555555555"


def test_nothing_set_means_no_entra_tokens_and_no_easy_auth() -> None:
    settings = EntraSettings.from_env({})
    assert not settings.jwt_enabled
    assert not settings.trust_app_service_auth
    assert settings.admin_role == "hpcburst.admin"


def test_a_tenant_and_an_audience_derive_the_v2_issuer_and_key_endpoint() -> None:
    settings = EntraSettings.from_env(
        {"HPCBURST_ENTRA_TENANT_ID": TENANT, "HPCBURST_ENTRA_AUDIENCE": "api://hpcburst"}
    )
    assert settings.jwt_enabled
    assert settings.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert settings.jwks_url == f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"


def test_issuer_key_endpoint_and_admin_role_can_be_set_explicitly() -> None:
    settings = EntraSettings.from_env(
        {
            "HPCBURST_ENTRA_AUDIENCE": "api://hpcburst",
            "HPCBURST_ENTRA_ISSUER": f"https://sts.windows.net/{TENANT}/",
            "HPCBURST_ENTRA_JWKS_URL": "https://login.example/keys",
            "HPCBURST_ENTRA_ADMIN_ROLE": "Cluster.Admin",
        }
    )
    assert settings.jwt_enabled
    assert (settings.issuer, settings.jwks_url, settings.admin_role) == (
        f"https://sts.windows.net/{TENANT}/",
        "https://login.example/keys",
        "Cluster.Admin",
    )


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE"])
def test_easy_auth_is_trusted_only_when_switched_on(value: str) -> None:
    assert EntraSettings.from_env({"HPCBURST_TRUST_APP_SERVICE_AUTH": value}).trust_app_service_auth


@pytest.mark.parametrize("value", ["false", "0", "no", ""])
def test_easy_auth_switched_off(value: str) -> None:
    assert not EntraSettings.from_env({"HPCBURST_TRUST_APP_SERVICE_AUTH": value}).trust_app_service_auth


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HPCBURST_TRUST_APP_SERVICE_AUTH": "maybe"}, "HPCBURST_TRUST_APP_SERVICE_AUTH"),
        ({"HPCBURST_ENTRA_AUDIENCE": "api://hpcburst"}, "HPCBURST_ENTRA_TENANT_ID"),
        (
            {"HPCBURST_ENTRA_AUDIENCE": "api://hpcburst", "HPCBURST_ENTRA_ISSUER": "https://issuer.example"},
            "HPCBURST_ENTRA_TENANT_ID",
        ),
        ({"HPCBURST_ENTRA_TENANT_ID": TENANT}, "HPCBURST_ENTRA_AUDIENCE"),
        ({"HPCBURST_ENTRA_TENANT_ID": "common", "HPCBURST_ENTRA_AUDIENCE": "a"}, "HPCBURST_ENTRA_TENANT_ID"),
        ({"HPCBURST_ENTRA_TENANT_ID": "x/../y", "HPCBURST_ENTRA_AUDIENCE": "a"}, "HPCBURST_ENTRA_TENANT_ID"),
        (
            {
                "HPCBURST_ENTRA_TENANT_ID": TENANT,
                "HPCBURST_ENTRA_AUDIENCE": "a",
                "HPCBURST_ENTRA_JWKS_URL": "http://keys.example/keys",
            },
            "HPCBURST_ENTRA_JWKS_URL",
        ),
    ],
)
def test_an_inconsistent_configuration_names_the_setting_to_fix(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        EntraSettings.from_env(env)


def test_plain_http_keys_are_allowed_on_loopback_only() -> None:
    settings = EntraSettings(tenant_id=TENANT, audience="a", jwks_url="http://127.0.0.1:8080/keys")
    assert settings.jwks_url == "http://127.0.0.1:8080/keys"
