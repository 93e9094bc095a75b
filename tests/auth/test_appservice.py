"""App Service Authentication: the X-MS-CLIENT-PRINCIPAL header Easy Auth sets becomes an identity."""

from __future__ import annotations

import base64
import json

import pytest

from hpcburst.auth.appservice import identity_from_client_principal
from hpcburst.auth.entra import ExternalIdentity
from hpcburst.errors import Unauthorized

ROLE_TYP = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
EMAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
ADA_OID = "0000aaaa-0000-0000-0000-00000000000a"


def header(principal: object) -> str:
    return base64.b64encode(json.dumps(principal).encode()).decode()


def principal(*claims: tuple[str, str], **fields: object) -> dict[str, object]:
    """A client principal as Easy Auth's Entra provider writes it; fields override its top-level keys."""
    base: dict[str, object] = {
        "auth_typ": "aad",
        "name_typ": EMAIL,
        "role_typ": ROLE_TYP,
        "claims": [{"typ": t, "val": v} for t, v in ((OID, ADA_OID), *claims)],
    }
    return {**base, **fields}


def refused(header_value: str) -> str:
    with pytest.raises(Unauthorized) as error:
        identity_from_client_principal(header_value, "hpcburst.admin")
    return error.value.message


def test_a_signed_in_user_is_named_by_the_name_claim_type() -> None:
    value = header(principal((EMAIL, "ada@contoso.example"), ("preferred_username", "ada.l@contoso.example")))
    assert identity_from_client_principal(value, "hpcburst.admin") == ExternalIdentity(
        name="ada@contoso.example", admin=False, source="appservice", subject=ADA_OID
    )


@pytest.mark.parametrize("role_claim", [ROLE_TYP, "roles"])
def test_the_admin_app_role_makes_an_admin(role_claim: str) -> None:
    value = header(principal((EMAIL, "ada@contoso.example"), (role_claim, "hpcburst.admin")))
    assert identity_from_client_principal(value, "hpcburst.admin").admin


def test_another_role_does_not_make_an_admin() -> None:
    value = header(principal((EMAIL, "ada@contoso.example"), ("roles", "reader")))
    assert not identity_from_client_principal(value, "hpcburst.admin").admin


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ((("preferred_username", "ada@contoso.example"), (UPN, "ada@upn.example")), "ada@contoso.example"),
        (((UPN, "ada@upn.example"),), "ada@upn.example"),
        ((), ADA_OID),
    ],
)
def test_without_the_name_claim_the_name_falls_back_to_username_then_upn_then_oid(
    claims: tuple[tuple[str, str], ...], name: str
) -> None:
    assert identity_from_client_principal(header(principal(*claims)), "hpcburst.admin").name == name


@pytest.mark.parametrize(
    "value",
    [
        "%%% not base64 %%%",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"\xff\xfe").decode(),
        header([1, 2, 3]),
        header({"claims": [{"typ": "name", "val": "ada"}]}),  # no auth_typ
        header(principal(claims="roles")),
        header(principal(claims=[{"typ": "name", "val": 10000}])),
    ],
)
def test_a_malformed_header_is_refused(value: str) -> None:
    assert refused(value) == "App Service principal header is malformed"


@pytest.mark.parametrize("claims", [None, []])
def test_a_principal_without_claims_is_refused(claims: object) -> None:
    value = principal()
    if claims is None:
        del value["claims"]
    else:
        value["claims"] = claims
    assert refused(header(value)) == "App Service principal header is malformed"


def test_a_principal_without_an_object_id_or_subject_is_refused() -> None:
    value = header(principal(claims=[{"typ": EMAIL, "val": "ada@contoso.example"}]))
    assert refused(value) == "App Service principal names no user"


def test_a_principal_from_another_provider_is_refused() -> None:
    value = header(principal((EMAIL, "ada@contoso.example"), auth_typ="github"))
    assert refused(value) == "App Service principal is not from Microsoft Entra ID"
