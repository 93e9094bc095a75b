"""Bad input is a 400 naming the field, never a 5xx or a silent guess (cases the API fuzzer found).

Bodies are read strictly, as the OpenAPI document types them: 0 is not a boolean, false not a number.
"""

from __future__ import annotations

from test_jobs_api import _submit

TASK = {"command": "true"}


def _field(response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "InvalidSpec"
    return body["details"]["field"]


def test_a_number_for_a_boolean_is_a_400(joining):
    response = joining.post("/agent/register", json={"node": "strict-a", "slots": 1, "cloud": 0})
    assert _field(response) == "cloud"


def test_a_boolean_for_a_number_is_a_400(http):
    response = http.post("/jobs", json={"tasks": [{**TASK, "retries": False}]})
    assert _field(response) == "tasks.0.retries"


def test_a_number_in_a_string_is_not_a_number(joining):
    response = joining.post("/agent/register", json={"node": "strict-b", "slots": "2"})
    assert _field(response) == "slots"


def test_requeue_indices_must_be_whole_numbers(http):
    job = _submit(http)
    http.post(f"/jobs/{job['id']}/cancel")
    assert _field(http.post(f"/jobs/{job['id']}/requeue", json={"indices": [False]})) == "indices.0"
    assert _field(http.post(f"/jobs/{job['id']}/requeue", json={"indices": ["2"]})) == "indices.0"
    assert http.post(f"/jobs/{job['id']}/requeue", json={"indices": [2]}).json()["requeued"] == 1


def test_a_report_with_a_boolean_output_length_is_a_400(register):
    node = register("strict-c")
    result = {"task": "1.1.1", "attempt": 1, "stderr": {"blob": "b", "length": False}}
    response = node.post("/agent/report", json={"node": "strict-c", "pool": "fn", "results": [result]})
    assert _field(response) == "results.0.stderr.length"


def test_a_command_is_a_command_line_or_argv_of_strings(http):
    argv = _submit(http, {"tasks": [{"command": ["echo", "a b"]}]})
    assert argv["tasks"][0]["command"] == "echo 'a b'"
    assert _field(http.post("/jobs", json={"tasks": [{"command": ["echo", 1]}]})) == "tasks.0.command"
    assert _field(http.post("/jobs", json={"tasks": [{"command": []}]})) == "tasks.0.command"


def test_a_lone_surrogate_is_not_text(joining):
    body = b'{"node": "\\ud800", "slots": 1}'
    response = joining.post("/agent/register", content=body, headers={"content-type": "application/json"})
    assert _field(response) == "body"
    assert "not valid JSON" in response.json()["message"]


def test_a_body_that_is_not_an_object_is_a_400(register):
    response = register("strict-d").post("/agent/heartbeat", json=[{"node": "x"}])
    assert _field(response) == "body"
    assert response.json()["message"] == "request body must be a JSON object"


def test_a_sweep_index_beyond_what_json_holds_exactly_is_a_400(http):
    sweep = {"start": 2**53, "end": 2**53}
    assert _field(http.post("/jobs", json={"tasks": [{**TASK, "sweep": sweep}]})) == "tasks.0.sweep.start"
    big = {"start": 10**30, "end": 10**30}
    assert _field(http.post("/jobs", json={"tasks": [{**TASK, "sweep": big}]})) == "tasks.0.sweep.start"


def test_node_names_hold_no_control_characters(joining):
    for name in ("bad\x00node", "bad\nnode"):
        response = joining.post("/agent/register", json={"node": name, "slots": 1})
        assert _field(response) == "node"


def test_an_empty_state_or_limit_is_a_400_not_no_filter(http):
    job = _submit(http)
    assert _field(http.get("/jobs", params={"state": ""})) == "state"
    assert _field(http.get(f"/jobs/{job['id']}/tasks", params={"state": ""})) == "state"
    assert _field(http.get("/jobs", params={"limit": ""})) == "limit"
    assert http.get("/jobs", params={"owner": ""}).status_code == 200  # an empty owner is no filter


def test_a_path_holding_a_newline_reaches_the_app(http):
    response = http.post("/nodes/no%0Asuch/offline")
    assert (response.status_code, response.json()["error"]) == (404, "NotFound")
    assert response.headers["content-type"] == "application/json"
