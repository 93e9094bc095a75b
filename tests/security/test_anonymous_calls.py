"""Threat: anyone who reaches the API. Every endpoint but the health check answers 401 without a credential."""

from __future__ import annotations

import re

import pytest
from security_support import api, app_routes

ANONYMOUS_OK = {("GET", "health")}


def _concrete(route: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", route)


@pytest.mark.parametrize(("method", "route"), [r for r in app_routes() if r not in ANONYMOUS_OK])
def test_every_endpoint_refuses_an_anonymous_call_with_401(cluster, method, route):
    with api(cluster) as anonymous:
        response = anonymous.request(method, _concrete(route), json={})
    assert response.status_code == 401, (method, route, response.text)
    assert response.json()["error"] == "Unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_made_up_or_malformed_token_is_401(cluster):
    for header in ("Bearer hpb_u_not-a-real-token-at-all", "Bearer x", "Basic YWxpY2U6cHc=", "Bearer"):
        with api(cluster) as client:
            response = client.get("/jobs", headers={"Authorization": header})
        assert (response.status_code, response.json()["error"]) == (401, "Unauthenticated"), header


def test_a_revoked_token_stops_working(cluster, secrets):
    with api(cluster, secrets.alice) as alice:
        extra = alice.post("/tokens", json={"description": "to revoke"}).json()
    with api(cluster, extra["token"]) as spare:
        assert spare.get("/whoami").json()["name"] == "alice"
        assert spare.delete(f"/tokens/{extra['record']['id']}").status_code == 200
        assert spare.get("/whoami").status_code == 401


def test_the_old_anonymous_register_gets_no_grant_and_no_node(cluster):
    with api(cluster) as anonymous:
        response = anonymous.post("/agent/register", json={"node": "rogue", "pool": "default", "slots": 8})
    assert response.status_code == 401 and "output_url" not in response.text
    with api(cluster, cluster.admin_token) as admin:
        assert "rogue" not in {n["name"] for n in admin.get("/nodes").json()["nodes"]}


def test_the_health_check_is_the_one_open_endpoint(cluster):
    with api(cluster) as anonymous:
        response = anonymous.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert [r for r in app_routes() if r in ANONYMOUS_OK] == [("GET", "health")]
