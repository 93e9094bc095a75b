"""Threat: requests built to exhaust memory or overflow a state document (Cosmos allows 2 MB each)."""

from __future__ import annotations

from security_support import api


def test_a_body_over_the_cap_is_413(cluster, secrets):
    huge = {"tasks": [{"command": "x" * (2 * 1024 * 1024)}]}
    with api(cluster, secrets.alice) as alice:
        response = alice.post("/jobs", json=huge)
    assert (response.status_code, response.json()["error"]) == (413, "PayloadTooLarge")
    assert "HPCBURST_MAX_BODY_BYTES" in response.json()["message"]


def test_a_command_line_over_its_cap_is_a_400_naming_the_field(cluster, secrets):
    with api(cluster, secrets.alice) as alice:
        response = alice.post("/jobs", json={"tasks": [{"command": "x" * 40_000}]})
    assert (response.status_code, response.json()["details"]["field"]) == (400, "tasks.0.command")


def test_an_environment_over_its_cap_is_a_400(cluster, secrets):
    env = {f"V{i}": "y" * 1000 for i in range(100)}  # 100 KB
    with api(cluster, secrets.alice) as alice:
        response = alice.post("/jobs", json={"tasks": [{"command": "true", "environment": env}]})
    assert (response.status_code, response.json()["details"]["field"]) == (400, "tasks.0.environment")


def test_too_many_tasks_is_a_400(cluster, secrets):
    with api(cluster, secrets.alice) as alice:
        response = alice.post("/jobs", json={"tasks": [{"command": "true"}] * 1001})
    assert (response.status_code, response.json()["details"]["field"]) == (400, "tasks")


def test_an_oversized_agent_report_is_413(cluster, secrets):
    results = [{"task": f"1.1.{i}", "attempt": 1, "message": "m" * 1000} for i in range(2000)]
    with api(cluster, secrets.node) as node:
        response = node.post("/agent/report", json={"node": "side-node", "results": results})
    assert response.status_code == 413
