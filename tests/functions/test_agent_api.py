"""The agent HTTP API: register, lease (long-poll), report with outputs, heartbeat, drain."""

from __future__ import annotations

import os

from test_jobs_api import _submit, wait_for_state

from hpcburst import constants as c
from hpcburst.services import root
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.blob.sas_blob import SasClients


def _lease(http, node, slots=2, wait=5.0, running=()):
    body = {"node": node, "pool": "fn", "free_slots": slots, "wait_seconds": wait, "running": list(running)}
    response = http.post("/agent/lease", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_index_runs_reports_its_output_and_the_job_finishes(http, register):
    node = register("fn-a")
    assert (
        node.registration["segment"]["blob"].startswith("nodes/fn/fn-a/")
        and node.registration["packages_url"]
    )
    job = _submit(http, {"pool": "fn", "tasks": [{"command": "echo ***", "sweep": {"start": 7, "end": 7}}]})
    lease = _lease(node, "fn-a")
    (leased,) = lease["leases"]
    assert (leased["command"], leased["index"], leased["attempt"]) == ("echo 007", 7, 1)
    segment = lease["segment"]  # a grant on one blob under the node's own prefix
    assert segment["blob"].startswith("nodes/fn/fn-a/") and segment["container"] == c.BLOB_OUTPUT
    with SasClients() as clients:
        clients.blob(segment["url"]).put(b"other bytes|007\n|more")
    result = {
        "task": leased["task"],
        "attempt": leased["attempt"],
        "exit_code": 0,
        "started_at": 1.0,
        "ended_at": 2.0,
        "stdout": {"blob": segment["blob"], "offset": 12, "length": 4},
    }
    body = {"node": "fn-a", "pool": "fn", "results": [result]}
    report = node.post("/agent/report", json=body).json()
    assert (report["accepted"], report["ignored"]) == ([leased["task"]], [])
    assert report["segment"]["blob"].startswith("nodes/fn/fn-a/")  # the next one, no extra round trip
    assert report["segment"]["blob"] != segment["blob"]
    again = node.post("/agent/report", json=body).json()
    assert (again["accepted"], again["ignored"]) == ([], [leased["task"]])
    assert wait_for_state(http, job["id"], {"Finished"})["state"] == "Finished"
    task = http.get(f"/jobs/{job['id']}/tasks/7").json()
    assert (task["state"], task["exit_code"], task["node"]) == ("Finished", 0, "fn-a")
    output = http.get(f"/jobs/{job['id']}/tasks/7/output", params={"stream": "stdout"})
    assert (output.status_code, output.content) == (200, b"007\n")
    assert (output.headers["x-hpcburst-output-size"], output.headers["x-hpcburst-truncated"]) == (
        "4",
        "false",
    )
    page = http.get(f"/jobs/{job['id']}/tasks/7/output", params={"offset": 1, "length": 2})
    assert (page.content, page.headers["x-hpcburst-truncated"]) == (b"07", "true")
    missing = http.get(f"/jobs/{job['id']}/tasks/7/output", params={"stream": "stderr"})
    assert missing.status_code == 404


def test_a_node_whose_record_is_gone_is_told_to_register(register):
    node = register("fn-gone")
    root.services().store.delete(c.NODES, "fn", "fn-gone")  # e.g. the state was restored from a backup
    response = node.post("/agent/lease", json={"node": "fn-gone", "pool": "fn", "free_slots": 1})
    assert (response.status_code, response.json()["error"]) == (404, "NotFound")
    assert node.post("/agent/heartbeat", json={"node": "fn-gone", "pool": "fn"}).status_code == 404


def test_a_forged_output_ref_is_not_stored_and_never_served(http, register):
    node = register("fn-f")
    blobs = AzureBlobStore.from_connection_string(os.environ[c.ENV_STORAGE_CONNECTION])
    blobs.ensure_container(c.BLOB_DATA)
    blobs.put(c.BLOB_DATA, "private/secret.txt", b"someone else's data")
    job = _submit(http, {"pool": "fn", "tasks": [{"command": "x *", "sweep": {"start": 1, "end": 2}}]})
    leases = _lease(node, "fn-f")["leases"]
    forged = [
        {"container": c.BLOB_DATA, "blob": "private/secret.txt"},
        {"blob": "nodes/fn/fn-a/someone-elses.seg"},
    ]
    results = [
        {"task": lease["task"], "attempt": lease["attempt"], "exit_code": 0, "stdout": ref}
        for lease, ref in zip(leases, forged, strict=True)
    ]
    report = node.post("/agent/report", json={"node": "fn-f", "pool": "fn", "results": results}).json()
    assert sorted(report["accepted"]) == sorted(lease["task"] for lease in leases)
    for lease in leases:
        task = http.get(f"/jobs/{job['id']}/tasks/{lease['index']}").json()
        assert task["exit_code"] == 0 and "stdout" not in task
        assert "outside the node's output prefix" in task["message"]
        output = http.get(f"/jobs/{job['id']}/tasks/{lease['index']}/output")
        assert output.status_code == 404 and b"someone" not in output.content


def test_grants_are_given_only_for_the_nodes_own_lease_and_its_paths(http, register):
    node, other = register("fn-g"), register("fn-h")
    spec = {
        "command": "x *",
        "sweep": {"start": 1, "end": 1},
        "input_files": [{"blob": "hpc-data/in/rates-*.csv", "path": "rates.csv"}],
        "output_files": [{"pattern": "out/part-^*.csv", "blob": "hpc-output/run-*"}],
    }
    _submit(http, {"pool": "fn", "tasks": [spec]})
    (lease,) = _lease(node, "fn-g")["leases"]
    assert set(lease["grants"]) == {"hpc-data/in/rates-1.csv"}  # glob outputs: names unknown yet
    mine = {"node": "fn-g", "pool": "fn", "task": lease["task"], "attempt": lease["attempt"]}
    ok = node.post(
        "/agent/grants", json={**mine, "outputs": ["out/part-7.csv"], "inputs": ["hpc-data/in/rates-1.csv"]}
    )
    assert ok.status_code == 200, ok.text
    assert set(ok.json()["grants"]) == {"hpc-output/run-1/out/part-7.csv", "hpc-data/in/rates-1.csv"}
    refused = [
        ({**mine, "outputs": ["out/notes.txt"]}, "out/notes.txt"),  # outside the pattern
        ({**mine, "outputs": ["out/part-7/x.csv"]}, "out/part-7/x.csv"),  # * stays in one segment
        ({**mine, "outputs": ["../escape.csv"]}, "../escape.csv"),
        ({**mine, "inputs": ["hpc-data/in/rates-2.csv"]}, "hpc-data/in/rates-2.csv"),  # another index's input
        ({**mine, "attempt": 2, "outputs": ["out/part-7.csv"]}, lease["task"]),  # not its current attempt
    ]
    for body, path in refused:
        response = node.post("/agent/grants", json=body)
        assert (response.status_code, response.json()["error"]) == (403, "Forbidden"), body
        assert response.json()["details"]["path"] == path
    not_holder = {**mine, "node": "fn-h", "outputs": ["out/part-7.csv"]}
    response = other.post("/agent/grants", json=not_holder)
    assert (response.status_code, response.json()["details"]["path"]) == (403, lease["task"])
    assert http.post("/agent/grants", json=mine).status_code == 403  # a user token: not an agent
    assert other.post("/agent/grants", json=mine).status_code == 403  # fn-h's credential naming fn-g
    segments = node.post("/agent/grants", json={"node": "fn-g", "pool": "fn", "segments": 2}).json()[
        "segments"
    ]
    assert len({s["blob"] for s in segments}) == 2
    assert all(s["blob"].startswith("nodes/fn/fn-g/") for s in segments)


def test_a_bad_agent_request_is_a_400_naming_the_field(register):
    node = register("fn-bad")
    response = node.post("/agent/lease", json={"node": "fn-bad", "pool": "fn", "free_slots": -1})
    assert (response.status_code, response.json()["details"]["field"]) == (400, "free_slots")


def test_an_offline_node_drains(http, register):
    node = register("fn-b")
    assert http.post("/nodes/fn-b/offline").json()["state"] == "Offline"
    beat = node.post("/agent/heartbeat", json={"node": "fn-b", "pool": "fn", "running": []}).json()
    assert beat == {"state": "Offline", "drain": True, "cancel_runs": [], "cancel": [], "left": []}
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
    assert beat["cancel_runs"] == [ref]
    assert beat["cancel"] == [leased["task"]]  # for agents of the previous release
    assert wait_for_state(http, job["id"], {"Canceled"})["state"] == "Canceled"
