"""Threat: a credential used outside its kind: a node's on the user API, a user's on the agent API, a
non-admin on admin endpoints."""

from __future__ import annotations

import pytest
from security_support import api

USER_CALLS = [
    ("POST", "/jobs", {"tasks": [{"command": "id"}]}),
    ("GET", "/jobs", None),
    ("POST", "/jobs/1/cancel", None),
    ("GET", "/nodes", None),
    ("GET", "/tokens", None),
    ("GET", "/cost", None),
    ("GET", "/services", None),
    ("POST", "/sessions", {"service": "echo"}),
    ("GET", "/sessions", None),
    ("POST", "/sessions/s0000000000/requests", {"client_id": "c", "requests": []}),
    ("POST", "/sessions/s0000000000/responses", {"client_id": "c"}),
    ("POST", "/sessions/s0000000000/close", {}),
    ("POST", "/sessions/s0000000000/data", {"name": "table"}),
]
ADMIN_CALLS = [
    ("POST", "/nodes/local-1/offline", None),
    ("POST", "/nodes/local-1/online", None),
    ("GET", "/users", None),
    ("POST", "/users", {"name": "mallory", "admin": True}),
    ("DELETE", "/users/bob", None),
    ("GET", "/pools", None),
    ("POST", "/pools", {"name": "mine"}),
    ("POST", "/pools/default/join-tokens", {}),
    ("DELETE", "/pools/default", None),
    ("POST", "/pools/default/nodes", {"count": 1}),
    ("POST", "/nodes/stop", {"nodes": ["local-1"]}),
    ("GET", "/burst", None),
    ("GET", "/burst/log", None),
    ("POST", "/burst/pools/default/enable", None),
    ("POST", "/templates", {"name": "mine"}),
    ("DELETE", "/templates/Default", None),
    ("GET", "/cost?by=pool", None),
    ("POST", "/services", {"name": "evil", "module": "evil"}),
    ("DELETE", "/services/echo", None),
]
AGENT_CALLS = [
    ("POST", "/agent/heartbeat", {"node": "side-node", "pool": "default"}),
    ("POST", "/agent/lease", {"node": "side-node", "pool": "default", "free_slots": 1}),
    ("POST", "/agent/report", {"node": "side-node", "results": []}),
    ("POST", "/agent/soa", {"node": "side-node", "pool": "default"}),
]


@pytest.mark.parametrize(("method", "path", "body"), USER_CALLS + ADMIN_CALLS)
def test_a_node_credential_cannot_call_the_user_api(cluster, secrets, method, path, body):
    with api(cluster, secrets.node) as node:
        response = node.request(method, path, json=body)
    assert (response.status_code, response.json()["error"]) == (403, "Forbidden")


@pytest.mark.parametrize(("method", "path", "body"), USER_CALLS + ADMIN_CALLS)
def test_a_join_secret_cannot_call_the_user_api(cluster, secrets, method, path, body):
    with api(cluster, secrets.join) as joining:
        assert joining.request(method, path, json=body).status_code == 403


@pytest.mark.parametrize(("method", "path", "body"), AGENT_CALLS)
def test_a_user_token_cannot_call_the_agent_api(cluster, secrets, method, path, body):
    for token in (secrets.alice, secrets.admin):
        with api(cluster, token) as user:
            assert user.request(method, path, json=body).status_code == 403


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_only_admins_manage_nodes_users_and_pools(cluster, secrets, method, path, body):
    with api(cluster, secrets.alice) as alice:
        response = alice.request(method, path, json=body)
    assert (response.status_code, response.json()["error"]) == (403, "Forbidden")
    assert "admin" in response.json()["message"]
