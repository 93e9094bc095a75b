"""The burst API on the real app: status, log, the manual burst and its refusals, each a clear 4xx/5xx with the
fix named. (Outsiders: tests/security/test_credential_kinds.py and test_anonymous_calls.py.)"""

from __future__ import annotations

from hpcburst.services import root


def test_status_and_log_answer_with_no_burstable_pool(http):
    status = http.get("/burst")
    assert status.status_code == 200
    assert {p["name"] for p in status.json()["pools"]} == set()
    assert http.get("/burst/log").json()["decisions"] == []


def test_a_burstable_pool_shows_in_status_with_its_caps(http):
    created = http.post("/pools", json={"name": "bursty", "burst": {"provisioner": "local", "max_nodes": 3,
                                                                    "cost_cap_per_hour": 1.5}})  # fmt: skip
    assert created.status_code == 201, created.text
    (pool,) = [p for p in http.get("/burst").json()["pools"] if p["name"] == "bursty"]
    assert (
        pool["max_nodes"] == 3
        and pool["cost_cap_per_hour"] == 1.5
        and pool["nodes"] == {}
        and pool["not_deployed"] == 3
    )
    assert pool["rate_per_hour"] == 0 and pool["disabled_reason"] is None


def test_starting_nodes_in_a_pool_that_does_not_burst_names_the_fix(http):
    http.post("/pools", json={"name": "plain"})
    response = http.post("/pools/plain/nodes", json={"count": 1})
    assert response.status_code == 409
    assert "--provisioner local|azure" in response.json()["message"]


def test_a_provisioner_that_is_not_configured_is_a_clear_error_and_leaves_no_node(http):
    http.post("/pools", json={"name": "unset", "burst": {"provisioner": "azure", "max_nodes": 2}})
    response = http.post("/pools/unset/nodes", json={"count": 1})
    assert response.status_code == 409
    assert "cannot start nodes here" in response.json()["message"]
    assert "HPCBURST_AZURE_SUBSCRIPTION_ID" in response.json()["message"]
    assert not [
        n
        for n in http.get("/nodes").json()["cloud_nodes"]
        if n["pool"] == "unset" and n["state"] != "Stopped"
    ]
    record, _ = root.services().burst.records.read()
    assert record.creating == {} and not record.ledger.for_pool("unset")


def test_bad_requests_are_400_with_the_field(http):
    http.post("/pools", json={"name": "bursty2", "burst": {"provisioner": "local"}})
    assert http.post("/pools/bursty2/nodes", json={"count": 0}).json()["details"]["field"] == "count"
    assert http.post("/nodes/stop", json={"nodes": []}).status_code == 400
    assert http.get("/burst/log", params={"limit": 0}).status_code == 400
    since = http.get("/burst/log", params={"since": "yesterday"})
    assert since.status_code == 400 and since.json()["details"]["field"] == "since"


def test_stopping_an_unknown_node_or_enabling_an_unknown_pool_is_404(http):
    response = http.post("/nodes/stop", json={"nodes": ["nobody-here"]})
    assert response.status_code == 404 and "hpcburst node list" in response.json()["message"]
    assert http.post("/burst/pools/no-such-pool/enable").status_code == 404


def test_a_pool_with_cloud_nodes_cannot_be_deleted_or_stop_bursting(http):
    http.post("/pools", json={"name": "busy", "burst": {"provisioner": "local", "max_nodes": 1}})
    controller = root.services().burst
    controller.records.update(
        lambda r: r.model_copy(update={"deleting": {**r.deleting, "busy-00001": "busy"}})
    )
    try:
        assert http.delete("/pools/busy").status_code == 409
        refused = http.patch("/pools/busy", json={"no_burst": True})
        assert refused.status_code == 409 and "node stop busy-00001" in refused.json()["message"]
    finally:
        controller.records.update(lambda r: r.model_copy(update={"deleting": {}}))
    assert http.delete("/pools/busy").status_code == 200
