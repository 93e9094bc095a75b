"""Threat: a machine that is not ours tries to join the cluster and take work (and a storage grant)."""

from __future__ import annotations

from security_support import api

REGISTER = {"node": "rogue-1", "pool": "default", "slots": 4}


def test_registering_without_a_join_secret_is_refused(cluster):
    with api(cluster) as anonymous:
        assert anonymous.post("/agent/register", json=REGISTER).status_code == 401


def test_a_user_token_cannot_register_a_node(cluster, secrets):
    for token in (secrets.alice, secrets.admin):
        with api(cluster, token) as user:
            response = user.post("/agent/register", json=REGISTER)
        assert (response.status_code, response.json()["error"]) == (403, "Forbidden")


def test_a_join_secret_only_joins_its_own_pool(cluster, secrets):
    with api(cluster, secrets.join) as joining:
        response = joining.post("/agent/register", json={**REGISTER, "pool": "gpu"})
    assert response.status_code == 403


def test_a_join_secret_cannot_lease_or_report_before_registering(cluster, secrets):
    with api(cluster, secrets.join) as joining:
        lease = joining.post("/agent/lease", json={"node": "rogue-1", "pool": "default", "free_slots": 4})
        report = joining.post("/agent/report", json={"node": "rogue-1", "results": []})
    assert (lease.status_code, report.status_code) == (403, 403)


def test_a_revoked_join_secret_no_longer_registers(cluster):
    with api(cluster, cluster.admin_token) as admin:
        admin.post("/pools", json={"name": "short-lived"})
        secret = admin.post("/pools/short-lived/join-tokens", json={}).json()["token"]
        tokens = admin.get("/tokens").json()["tokens"]
        (record,) = [t for t in tokens if t["kind"] == "join" and t["subject"] == "short-lived"]
        assert admin.delete(f"/tokens/{record['id']}").status_code == 200
    with api(cluster, secret) as joining:
        response = joining.post("/agent/register", json={**REGISTER, "pool": "short-lived"})
    assert response.status_code == 401
