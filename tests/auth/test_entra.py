"""Entra access tokens: the verifier accepts tokens this tenant signed for this API, and nothing else.

Tokens are signed with keys the tests generate and checked against a JWKS served on loopback (entra_fakes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from entra_fakes import AUDIENCE, TENANT, JwksServer, Signer, claims

from hpcburst.auth.entra import EntraSettings, EntraVerifier, ExternalIdentity, looks_like_jwt
from hpcburst.errors import ConfigError, Unauthorized


def verifier_for(jwks: JwksServer, *, cooldown: float = 30.0) -> EntraVerifier:
    settings = EntraSettings(tenant_id=TENANT, audience=AUDIENCE, jwks_url=jwks.url)
    return EntraVerifier(settings, jwks_refresh_cooldown=cooldown)


def rejection(verifier: EntraVerifier, token: str) -> str:
    """The reason a token is refused; the reason never repeats the token or any part of it."""
    with pytest.raises(Unauthorized) as refused:
        verifier.verify(token)
    reason = refused.value.message
    assert all(part not in reason for part in token.split(".") if len(part) > 8)
    return reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, object], payload: dict[str, object], signature: bytes = b"") -> str:
    return ".".join(
        [b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), b64url(signature)]
    )


# --- accepted ---


def test_a_valid_token_names_the_user_and_is_not_admin_without_the_role(
    jwks: JwksServer, signer: Signer
) -> None:
    identity = verifier_for(jwks).verify(signer.sign(claims()))
    assert identity == ExternalIdentity(
        name="ada@contoso.example",
        admin=False,
        source="entra",
        subject="0000aaaa-0000-0000-0000-00000000000a",
    )


def test_the_admin_app_role_makes_an_admin(jwks: JwksServer, signer: Signer) -> None:
    identity = verifier_for(jwks).verify(signer.sign(claims(roles=["reader", "hpcburst.admin"])))
    assert identity.admin


@pytest.mark.parametrize(
    ("present", "name"),
    [
        ({"upn": "ada@contoso.example", "preferred_username": None}, "ada@contoso.example"),
        ({"preferred_username": None}, "0000aaaa-0000-0000-0000-00000000000a"),
        ({"preferred_username": None, "oid": None}, "subject-of-ada"),
    ],
)
def test_the_name_falls_back_to_upn_then_oid_then_sub(
    jwks: JwksServer, signer: Signer, present: dict[str, object], name: str
) -> None:
    assert verifier_for(jwks).verify(signer.sign(claims(**present))).name == name


def test_a_token_expired_within_the_leeway_is_still_accepted(jwks: JwksServer, signer: Signer) -> None:
    verifier_for(jwks).verify(signer.sign(claims(exp=int(time.time()) - 30)))


def test_the_key_set_is_fetched_on_first_use_and_then_cached(jwks: JwksServer, signer: Signer) -> None:
    verifier = verifier_for(jwks)
    assert jwks.fetches == 0
    verifier.verify(signer.sign(claims()))
    verifier.verify(signer.sign(claims()))
    assert jwks.fetches == 1


def test_a_rotated_key_is_picked_up_when_its_kid_first_appears(
    jwks: JwksServer, signer: Signer, next_signer: Signer
) -> None:
    verifier = verifier_for(jwks, cooldown=0)
    verifier.verify(signer.sign(claims()))
    jwks.publish(signer, next_signer)
    assert verifier.verify(next_signer.sign(claims())).name == "ada@contoso.example"
    assert jwks.fetches == 2


def test_unknown_kids_refetch_the_keys_at_most_once_per_cooldown(jwks: JwksServer, signer: Signer) -> None:
    verifier = verifier_for(jwks)
    verifier.verify(signer.sign(claims()))
    for attempt in range(3):
        assert rejection(verifier, signer.sign(claims(), kid=f"made-up-{attempt}")) == (
            "Entra token is signed by an unknown key"
        )
    assert jwks.fetches == 1


# --- refused ---


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"exp": int(time.time()) - 120}, "Entra token expired"),
        ({"nbf": int(time.time()) + 600}, "Entra token is not valid yet"),
        ({"aud": "api://someone-elses-app"}, "Entra token audience is not this cluster's"),
        (
            {"iss": "https://login.microsoftonline.com/another-tenant/v2.0"},
            "Entra token issuer is not this cluster's tenant",
        ),
        ({"exp": None}, "Entra token lacks a required claim"),
        ({"aud": None}, "Entra token lacks a required claim"),
        ({"iss": None}, "Entra token lacks a required claim"),
        ({"oid": None, "sub": None}, "Entra token names no user"),
    ],
)
def test_claims_that_do_not_fit_are_refused(
    jwks: JwksServer, signer: Signer, changed: dict[str, object], reason: str
) -> None:
    assert rejection(verifier_for(jwks), signer.sign(claims(**changed))) == reason


def test_a_key_the_tenant_did_not_publish_is_refused(jwks: JwksServer, next_signer: Signer) -> None:
    assert (
        rejection(verifier_for(jwks), next_signer.sign(claims())) == "Entra token is signed by an unknown key"
    )


def test_a_forged_signature_under_a_published_kid_is_refused(
    jwks: JwksServer, signer: Signer, next_signer: Signer
) -> None:
    forged = next_signer.sign(claims(), kid=signer.kid)
    assert rejection(verifier_for(jwks), forged) == "Entra token signature is invalid"


def test_an_unsigned_alg_none_token_is_refused(jwks: JwksServer, signer: Signer) -> None:
    unsigned = hand_made({"alg": "none", "typ": "JWT", "kid": signer.kid}, claims(roles=["hpcburst.admin"]))
    assert rejection(verifier_for(jwks), unsigned) == "Entra token is not signed with RS256"
    assert jwks.fetches == 0


def test_hs256_signed_with_the_public_key_is_refused(jwks: JwksServer, signer: Signer) -> None:
    # The classic confusion: the attacker uses the published public key as an HMAC secret.
    public_pem = signer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": signer.kid}).encode())
    payload = b64url(json.dumps(claims(roles=["hpcburst.admin"])).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert (
        rejection(verifier_for(jwks), f"{header}.{payload}.{b64url(mac)}")
        == "Entra token is not signed with RS256"
    )


def test_a_token_without_a_kid_is_refused(jwks: JwksServer, signer: Signer) -> None:
    no_kid = jwt.encode(claims(), signer.private_key, algorithm="RS256")
    assert rejection(verifier_for(jwks), no_kid) == "Entra token names no signing key"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.%%%.sig"])
def test_a_malformed_token_is_refused(jwks: JwksServer, token: str) -> None:
    assert rejection(verifier_for(jwks), token) == "Entra token is malformed"


def test_an_unreachable_key_endpoint_refuses_and_warns(
    jwks: JwksServer, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    jwks.stop()
    with caplog.at_level(logging.WARNING, logger="hpcburst.auth"):
        assert rejection(verifier_for(jwks), signer.sign(claims())) == "Entra signing keys are unavailable"
    assert "Entra signing keys unavailable" in caplog.text


def test_a_key_endpoint_answering_garbage_refuses_and_warns(
    jwks: JwksServer, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    jwks.raw_body = b"<html>maintenance</html>"
    with caplog.at_level(logging.WARNING, logger="hpcburst.auth"):
        assert rejection(verifier_for(jwks), signer.sign(claims())) == "Entra signing keys are unavailable"
    assert "Entra signing keys unavailable" in caplog.text


def test_a_verifier_needs_an_audience_and_a_tenant() -> None:
    with pytest.raises(ConfigError):
        EntraVerifier(EntraSettings())


# --- telling tokens apart ---


def test_looks_like_jwt_recognises_compact_tokens_only(signer: Signer) -> None:
    assert looks_like_jwt(signer.sign(claims()))
    assert looks_like_jwt(hand_made({"alg": "none"}, {}))  # routed to the verifier, which refuses it
    for other in ["", "hpcb_0123456789abcdef", "a.b", "a.b.c.d", "a b.c.d", "a.b.c="]:
        assert not looks_like_jwt(other), other
