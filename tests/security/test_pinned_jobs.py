"""Threat: clusrun's pinned tasks as a way around the rules: a user running a command on chosen nodes, or a
pinned index escaping to another node."""

from __future__ import annotations

import time

from security_support import api


def _pinned(node: str, command: str = "hostname") -> dict[str, object]:
    return {"name": f"clusrun: {command}", "tasks": [{"command": command, "node": node}]}


def test_a_user_who_is_not_an_admin_cannot_pin_a_task_to_a_node(cluster, secrets):
    with api(cluster, secrets.alice) as alice:
        response = alice.post("/jobs", json=_pinned("local-1", "id > /tmp/pwned"))
        listed = alice.get("/jobs").json()["jobs"]
    assert (response.status_code, response.json()["error"]) == (403, "Forbidden")
    assert "admin" in response.json()["message"]
    assert not any(j["name"] == "clusrun: id > /tmp/pwned" for j in listed)


def test_a_pinned_index_waits_for_its_node_while_a_live_agent_leases_everything_else(cluster, secrets):
    with api(cluster, secrets.node) as side, api(cluster, secrets.admin) as admin:
        assert side.post("/agent/heartbeat", json={"node": "side-node", "running": []}).status_code == 200
        job = admin.post("/jobs", json=_pinned("side-node")).json()["id"]
        try:
            time.sleep(1.5)  # the real agent (local-1) long-polls for work all along
            task = admin.get(f"/jobs/{job}/tasks/1.0").json()
            assert (task["state"], task.get("node")) == ("Queued", None)
            leases = side.post("/agent/lease", json={"node": "side-node", "free_slots": 2}).json()["leases"]
            assert [(lease["job"], lease["task_id"]) for lease in leases] == [(job, 1)]
        finally:
            admin.post(f"/jobs/{job}/cancel")
