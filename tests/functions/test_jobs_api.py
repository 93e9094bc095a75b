"""The client HTTP API: submit, view, list, cancel, requeue; bad input is a 400 naming the field."""

from __future__ import annotations

import threading
import time

import httpx

SWEEP = {"tasks": [{"command": "echo *", "sweep": {"start": 1, "end": 3}}]}


def _submit(http: httpx.Client, spec=None) -> dict:
    spec = {"pool": "no-agents-here", **(spec or SWEEP)}  # no agent test leases these
    response = http.post("/jobs", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def test_submitting_a_sweep_answers_201_with_the_job(http):
    job = _submit(http, {**SWEEP, "name": "render", "priority": "AboveNormal"})
    assert (job["name"], job["priority"], job["state"], job["total"]) == (
        "render",
        "AboveNormal",
        "Queued",
        3,
    )
    view = http.get(f"/jobs/{job['id']}").json()
    assert view["counts"]["Queued"] == 3
    assert job["id"] in [j["id"] for j in http.get("/jobs", params={"limit": 100}).json()["jobs"]]


def test_a_bad_spec_is_a_400_naming_the_field(http):
    spec = {"tasks": [{"command": "x", "sweep": {"start": 1, "end": 5, "step": 0}}]}
    response = http.post("/jobs", json=spec)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidSpec"
    assert body["details"]["field"] == "tasks.0.sweep.step"
    assert "tasks.0.sweep.step" in body["message"]


def test_a_body_that_is_not_json_is_a_400(http):
    response = http.post("/jobs", content=b"nope", headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["details"]["field"]) == (400, "body")


def test_an_unknown_job_is_a_404(http):
    response = http.get("/jobs/99999")
    assert (response.status_code, response.json()["error"]) == (404, "NotFound")
    assert response.json()["message"].startswith("job 99999 not found")
    assert http.get("/jobs/99999/tasks/1").status_code == 404


def test_a_bad_paging_parameter_or_state_is_a_400(http):
    assert http.get("/jobs", params={"limit": "lots"}).status_code == 400
    assert http.get("/jobs", params={"state": "Sleeping"}).json()["details"]["field"] == "state"
    assert http.get("/jobs", params={"state": "queued"}).status_code == 200


def test_cancel_then_cancel_again_is_a_409(http):
    job = _submit(http)
    canceled = http.post(f"/jobs/{job['id']}/cancel")
    assert (canceled.status_code, canceled.json()["state"]) == (200, "Canceled")
    again = http.post(f"/jobs/{job['id']}/cancel")
    assert (again.status_code, again.json()["error"]) == (409, "InvalidState")
    assert http.get(f"/jobs/{job['id']}").json()["counts"]["Canceled"] == 3


def test_requeue_of_a_canceled_job_queues_its_indices_again(http):
    job = _submit(http)
    http.post(f"/jobs/{job['id']}/cancel")
    response = http.post(f"/jobs/{job['id']}/requeue", json={"indices": [2]})
    assert (response.status_code, response.json()["requeued"]) == (200, 1)
    view = http.get(f"/jobs/{job['id']}").json()
    assert (view["state"], view["counts"]["Queued"], view["counts"]["Canceled"]) == ("Queued", 1, 2)


def test_requeue_with_nothing_to_requeue_is_a_409(http):
    job = _submit(http)
    assert http.post(f"/jobs/{job['id']}/requeue").status_code == 409


def test_tasks_are_listed_with_paging(http):
    job = _submit(http, {"tasks": [{"command": "x *", "sweep": {"start": 1, "end": 5}}]})
    first = http.get(f"/jobs/{job['id']}/tasks", params={"limit": 3}).json()
    rest = http.get(f"/jobs/{job['id']}/tasks", params={"continuation": first["continuation"]}).json()
    assert [t["index"] for t in first["tasks"] + rest["tasks"]] == [1, 2, 3, 4, 5]
    one = http.get(f"/jobs/{job['id']}/tasks/4").json()
    assert (one["state"], one["command"]) == ("Queued", "x 4")


def wait_for_state(http: httpx.Client, job_id: str, states: set[str], timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = http.get(f"/jobs/{job_id}").json()
        if view["state"] in states or time.monotonic() > deadline:
            return view
        time.sleep(0.05)


def test_a_view_long_polls_until_the_job_changes(http):
    job = _submit(http)
    first = http.get(f"/jobs/{job['id']}").json()
    assert first["progress"].startswith("Queued/")
    began = time.monotonic()
    same = http.get(f"/jobs/{job['id']}", params={"wait": 1, "known": first["progress"]}).json()
    assert time.monotonic() - began >= 0.9 and same["progress"] == first["progress"]  # nothing changed
    canceled: dict[str, float] = {}

    def cancel_soon() -> None:
        time.sleep(0.5)
        canceled["at"] = time.monotonic()
        with httpx.Client(base_url=str(http.base_url), headers=http.headers, timeout=30) as other:
            other.post(f"/jobs/{job['id']}/cancel")

    canceler = threading.Thread(target=cancel_soon)
    canceler.start()
    changed = http.get(f"/jobs/{job['id']}", params={"wait": 30, "known": first["progress"]}).json()
    canceler.join()
    assert changed["state"] == "Canceled" and changed["progress"].startswith("Canceled/")
    assert time.monotonic() - canceled["at"] < 5  # answered on the change, not after 30 s


def test_a_known_progress_that_differs_answers_at_once(http):
    job = _submit(http)
    began = time.monotonic()
    view = http.get(f"/jobs/{job['id']}", params={"wait": 30, "known": "Running/00000000"}).json()
    assert time.monotonic() - began < 5 and view["state"] == "Queued"


def test_a_bad_wait_is_a_400(http):
    job = _submit(http)
    for params in ({"wait": 61}, {"wait": "soon"}, {"known": "x" * 201}):
        assert http.get(f"/jobs/{job['id']}", params=params).status_code == 400


def test_cancel_force_takes_true_or_false_only(http):
    job = http.post("/jobs", json={"tasks": [{"command": "sleep 30"}]}).json()["id"]
    refused = http.post(f"/jobs/{job}/cancel", params={"force": "null"})
    assert refused.status_code == 400 and refused.json()["details"]["field"] == "force"
    assert http.post(f"/jobs/{job}/cancel", params={"force": "true"}).json()["state"] == "Canceled"
