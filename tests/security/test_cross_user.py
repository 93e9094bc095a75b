"""Threat: one user reading, canceling or requeueing another user's job, or reading its secrets."""

from __future__ import annotations

import time

from security_support import api


def _alices_job(as_alice) -> str:
    job = as_alice.submit(["echo", "alice-secret-output"], environment={"API_KEY": "s3cr3t"})
    assert as_alice.wait(job, timeout=60)["state"] == "Finished"
    return job


def test_another_users_job_is_404_word_for_word_like_a_missing_one(cluster, secrets, as_alice):
    job = _alices_job(as_alice)
    with api(cluster, secrets.bob) as bob:
        for method, path in (
            ("GET", f"/jobs/{job}"),
            ("POST", f"/jobs/{job}/cancel"),
            ("POST", f"/jobs/{job}/requeue"),
            ("GET", f"/jobs/{job}/tasks"),
            ("GET", f"/jobs/{job}/tasks/0"),
            ("GET", f"/jobs/{job}/tasks/0/output"),
        ):
            theirs = bob.request(method, path)
            missing = bob.request(method, path.replace(f"/jobs/{job}", "/jobs/987654"))
            assert theirs.status_code == 404, (method, path, theirs.text)
            assert theirs.json()["message"] == missing.json()["message"].replace("987654", job)
    assert as_alice.view_job(job)["state"] == "Finished"  # nothing bob did changed it


def test_a_user_lists_only_their_own_jobs(cluster, secrets, as_alice):
    job = _alices_job(as_alice)
    with api(cluster, secrets.bob) as bob:
        listed = bob.get("/jobs", params={"owner": "alice", "limit": 1000}).json()["jobs"]
    assert job not in {j["id"] for j in listed}
    assert all(j["owner"] == "bob" for j in listed)


def test_the_owner_is_the_authenticated_user_not_a_header_or_a_body_field(cluster, secrets):
    with api(cluster, secrets.bob) as bob:
        spoofed = bob.post("/jobs", json={"owner": "alice", "tasks": [{"command": "true"}]})
        assert (spoofed.status_code, spoofed.json()["details"]["field"]) == (400, "owner")
        job = bob.post("/jobs", json={"tasks": [{"command": "true"}]}, headers={"x-hpcburst-user": "alice"})
    assert job.json()["owner"] == "bob"


def test_environment_values_of_another_users_job_are_never_returned(cluster, secrets, as_alice):
    job = _alices_job(as_alice)
    assert as_alice.view_job(job)["tasks"][0]["environment"] == {"API_KEY": "s3cr3t"}
    with api(cluster, secrets.admin) as admin:
        viewed = admin.get(f"/jobs/{job}").text
        listed = admin.get("/jobs", params={"limit": 1000}).text
    assert "s3cr3t" not in viewed and "s3cr3t" not in listed
    assert '"API_KEY": "***"' in viewed.replace('":"', '": "')


def test_an_admin_sees_and_may_cancel_every_users_job(cluster, secrets, as_alice):
    job = as_alice.submit(["sleep", "30"])
    with api(cluster, secrets.admin) as admin:
        assert admin.get(f"/jobs/{job}").json()["owner"] == "alice"
        assert admin.post(f"/jobs/{job}/cancel").json()["state"] == "Canceled"


def test_a_job_cannot_read_another_users_stdout_through_its_inputs(cluster, secrets, as_alice):
    job = _alices_job(as_alice)
    segment = as_alice.view_task(job, 0)["stdout"]["blob"]  # nodes/<pool>/<node>/<uuid>.seg
    with api(cluster, secrets.bob) as bob:
        for blob, field in (
            (f"hpc-output/{segment}", "tasks.0.input_files.0.blob"),
            ("hpc-large-messages/anything", "tasks.0.input_files.0.blob"),
        ):
            spec = {"tasks": [{"command": "cat in", "input_files": [{"blob": blob, "path": "in"}]}]}
            response = bob.post("/jobs", json=spec)
            assert (response.status_code, response.json()["details"]["field"]) == (400, field)
        starred = {
            "command": "cat in",
            "sweep": {"start": 1, "end": 1},
            "input_files": [{"blob": f"hpc-output/{segment.rsplit('/', 1)[0]}/*", "path": "in"}],
        }
        job = bob.post("/jobs", json={"tasks": [starred]}).json()["id"]  # checked once substituted
    with api(cluster, secrets.bob) as bob:
        for _ in range(300):
            view = bob.get(f"/jobs/{job}/tasks/1").json()
            if view["state"] in ("Finished", "Failed"):
                break
            time.sleep(0.1)
    assert view["state"] == "Failed" and "alice-secret-output" not in str(view)
    assert "tasks may not read 'hpc-output/nodes/" in view["message"]  # refused by the grant, not by luck
