"""Job templates on the real app: admins make them, everyone reads them, a submit runs under one, and a job
that breaks a limit is refused with 400 naming it. (Anonymous calls: tests/security.)"""

from __future__ import annotations

import os
import subprocess
import sys

SWEEP = {"tasks": [{"command": "echo *", "sweep": {"start": 1, "end": 50}}]}


def test_an_admin_creates_a_template_and_every_user_can_read_it(http, as_user):
    made = http.post("/templates", json={"name": "small", "max_indices": 20, "priority": "BelowNormal",
                                         "description": "for quick tests"})  # fmt: skip
    assert made.status_code == 201, made.text
    alice = as_user("alice-t")
    assert alice.get("/templates/small").json()["max_indices"] == 20
    names = [t["name"] for t in alice.get("/templates").json()["templates"]]
    assert "small" in names and "Default" in names


def test_only_admins_create_or_delete_templates(http, as_user):
    bob = as_user("bob-t")
    refused = bob.post("/templates", json={"name": "mine", "max_indices": 10**6})
    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")
    http.post("/templates", json={"name": "keep"})
    assert bob.delete("/templates/keep").status_code == 403
    assert http.get("/templates/keep").status_code == 200


def test_a_job_breaking_its_templates_limit_is_refused_with_400_naming_it(http, as_user):
    http.post("/templates", json={"name": "tiny", "max_indices": 10})
    carol = as_user("carol-t")
    refused = carol.post("/jobs", json={**SWEEP, "template": "tiny"})
    assert refused.status_code == 400
    body = refused.json()
    assert (
        body["details"]["field"] == "tasks"
        and "50 indices exceed the 10 allowed by template 'tiny'" in body["message"]
    )


def test_the_default_template_binds_jobs_that_name_none_and_fills_their_defaults(http, as_user):
    http.post("/templates", json={"name": "Default", "priority": "AboveNormal", "max_indices": 1000})
    try:
        dave = as_user("dave-t")
        job = dave.post("/jobs", json=SWEEP).json()
        assert (job["template"], job["priority"]) == ("Default", "AboveNormal")
        big = dave.post("/jobs", json={"tasks": [{"command": "x", "sweep": {"start": 1, "end": 5000}}]})
        assert big.status_code == 400 and "template 'Default'" in big.json()["message"]
    finally:
        http.delete("/templates/Default")
    assert http.get("/templates/Default").json()["max_indices"] is None, "back to the empty Default"


def test_an_unknown_template_is_a_400_not_a_silently_dropped_limit(as_user):
    refused = as_user("erin-t").post("/jobs", json={**SWEEP, "template": "no-such"})
    assert refused.status_code == 400 and refused.json()["details"]["field"] == "template"


def test_the_cli_names_the_broken_limit_without_a_traceback(app_url, http, as_user):
    http.post("/templates", json={"name": "short", "max_runtime": 60})
    token = as_user("frank-t").headers["Authorization"].split()[1]
    env = {**os.environ, "HPCBURST_URL": app_url, "HPCBURST_TOKEN": token, "COLUMNS": "200"}
    cli = [sys.executable, "-m", "hpcburst.cli.main", "job", "submit", "--template", "short", "--timeout", "120",
           "--", "sleep", "1"]  # fmt: skip
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    said = " ".join((done.stderr + done.stdout).split())
    assert "120 s per index exceeds the 60 s allowed by template 'short'" in said
    assert "Traceback" not in done.stderr
