"""Threat: someone holding a join secret (or another node's credential) poses as a live node to take its leases."""

from __future__ import annotations

import time

from security_support import api

LIVE = "local-1"  # the cluster's real agent, heartbeating


def test_a_join_secret_cannot_re_register_a_live_node(cluster, secrets):
    with api(cluster, secrets.join) as joining:
        response = joining.post("/agent/register", json={"node": LIVE, "pool": "default", "slots": 8})
    assert (response.status_code, response.json()["error"]) == (409, "Conflict")
    assert "only its own credential" in response.json()["message"]


def test_another_nodes_credential_cannot_act_for_a_live_node(cluster, secrets):
    with api(cluster, secrets.node) as other:
        calls = [
            other.post("/agent/register", json={"node": LIVE, "pool": "default", "slots": 8}),
            other.post("/agent/heartbeat", json={"node": LIVE, "pool": "default", "running": []}),
            other.post("/agent/lease", json={"node": LIVE, "pool": "default", "free_slots": 8}),
            other.post("/agent/report", json={"node": LIVE, "results": []}),
        ]
    assert [r.status_code for r in calls] == [403, 403, 403, 403]


def test_a_node_name_cannot_be_reused_in_another_pool(cluster):
    with api(cluster, cluster.admin_token) as admin:
        admin.post("/pools", json={"name": "other"})
        secret = admin.post("/pools/other/join-tokens", json={}).json()["token"]
    with api(cluster, secret) as joining:
        response = joining.post("/agent/register", json={"node": LIVE, "pool": "other", "slots": 8})
    assert response.status_code == 409 and "cluster-wide" in response.json()["message"]


def test_once_a_node_is_dead_a_join_secret_replaces_it_and_the_old_credential_dies(cluster, secrets):
    with api(cluster, secrets.join) as joining:
        first = joining.post("/agent/register", json={"node": "fleeting", "pool": "default", "slots": 1})
        old = first.json()["credential"]
        time.sleep(3.5)  # no heartbeats: past the cluster's 3 s node timeout
        second = joining.post("/agent/register", json={"node": "fleeting", "pool": "default", "slots": 1})
    assert second.status_code == 200 and second.json()["credential"] != old
    with api(cluster, old) as stale:
        assert stale.post("/agent/heartbeat", json={"node": "fleeting", "pool": "default"}).status_code == 401
    with api(cluster, second.json()["credential"]) as fresh:
        assert fresh.post("/agent/heartbeat", json={"node": "fleeting", "pool": "default"}).status_code == 200
