"""The agent HTTP API: register, lease (long-poll), report with outputs, heartbeat, drain."""

from __future__ import annotations

import os

from test_jobs_api import _submit, wait_for_state

from hpcburst import constants as c
from hpcburst.services import root
from hpcburst.storage.blob.azure import AzureBlobStore


def _lease(http, node, slots=2, wait=5.0, running=()):
    body = {"node": node, "pool": "fn", "free_slots": slots, "wait_seconds": wait, "running": list(running)}
    response = http.post("/agent/lease", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_index_runs_reports_its_output_and_the_job_finishes(http, register):
    node = register("fn-a")
    job = _submit(http, {"pool": "fn", "tasks": [{"command": "echo ***", "sweep": {"start": 7, "end": 7}}]})
    lease = _lease(node, "fn-a")
    (leased,) = lease["leases"]
    assert (leased["command"], leased["index"], leased["attempt"]) == ("echo 007", 7, 1)
    assert lease["output_url"]  # a SAS the agent writes outputs with
    blobs = AzureBlobStore.from_connection_string(os.environ[c.ENV_STORAGE_CONNECTION])
    blobs.ensure_container(c.BLOB_OUTPUT)
    blobs.put(c.BLOB_OUTPUT, f"segments/{job['id']}/fn-a-0.seg", b"other bytes|007\n|more")
    result = {
        "task": leased["task"],
        "attempt": leased["attempt"],
        "exit_code": 0,
        "started_at": 1.0,
        "ended_at": 2.0,
        "stdout": {"blob": f"segments/{job['id']}/fn-a-0.seg", "offset": 12, "length": 4},
    }
    report = node.post("/agent/report", json={"node": "fn-a", "results": [result]}).json()
    assert report == {"accepted": [leased["task"]], "ignored": []}
    again = node.post("/agent/report", json={"node": "fn-a", "results": [result]}).json()
    assert again == {"accepted": [], "ignored": [leased["task"]]}
    assert wait_for_state(http, job["id"], {"Finished"})["state"] == "Finished"
    task = http.get(f"/jobs/{job['id']}/tasks/7").json()
    assert (task["state"], task["exit_code"], task["node"]) == ("Finished", 0, "fn-a")
    output = http.get(f"/jobs/{job['id']}/tasks/7/output", params={"stream": "stdout"})
    assert (output.status_code, output.content) == (200, b"007\n")
    missing = http.get(f"/jobs/{job['id']}/tasks/7/output", params={"stream": "stderr"})
    assert missing.status_code == 404


def test_a_node_whose_record_is_gone_is_told_to_register(register):
    node = register("fn-gone")
    root.services().store.delete(c.NODES, "fn", "fn-gone")  # e.g. the state was restored from a backup
    response = node.post("/agent/lease", json={"node": "fn-gone", "pool": "fn", "free_slots": 1})
    assert (response.status_code, response.json()["error"]) == (404, "NotFound")
    assert node.post("/agent/heartbeat", json={"node": "fn-gone", "pool": "fn"}).status_code == 404


def test_a_bad_agent_request_is_a_400_naming_the_field(register):
    node = register("fn-bad")
    response = node.post("/agent/lease", json={"node": "fn-bad", "pool": "fn", "free_slots": -1})
    assert (response.status_code, response.json()["details"]["field"]) == (400, "free_slots")


def test_an_offline_node_drains(http, register):
    node = register("fn-b")
    assert http.post("/nodes/fn-b/offline").json()["state"] == "Offline"
    beat = node.post("/agent/heartbeat", json={"node": "fn-b", "pool": "fn", "running": []}).json()
    assert beat == {"state": "Offline", "drain": True, "cancel": []}
    assert _lease(node, "fn-b", wait=0)["drain"] is True
    assert http.post("/nodes/fn-b/online").json()["state"] == "Online"
    names = {n["name"]: n["state"] for n in http.get("/nodes").json()["nodes"]}
    assert names["fn-b"] == "Online"
    assert http.post("/nodes/nobody/offline").status_code == 404


def test_cancel_reaches_the_agent_running_the_index(http, register):
    node = register("fn-c")
    job = _submit(http, {"pool": "fn", "tasks": [{"command": "sleep 100"}]})
    (leased,) = _lease(node, "fn-c", slots=1)["leases"]
    http.post(f"/jobs/{job['id']}/cancel")
    ref = {"task": leased["task"], "attempt": leased["attempt"]}
    beat = node.post("/agent/heartbeat", json={"node": "fn-c", "pool": "fn", "running": [ref]}).json()
    assert beat["cancel"] == [leased["task"]]
    assert wait_for_state(http, job["id"], {"Canceled"})["state"] == "Canceled"
