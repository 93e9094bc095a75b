"""The OpenAPI document: valid OpenAPI 3.1, one operation per HTTP function of the app, errors as ErrorBody.

A new HTTP function without a route-table entry (``hpcburst/api/routes.py``) fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys

from openapi_spec_validator import validate

from hpcburst.api.openapi import openapi_document
from hpcburst.api.routes import ROUTES
from hpcburst.emulators import REPO_ROOT

# In a child process: get_functions() may be called once per app, and the runtime under test already did.
LIST_HTTP_FUNCTIONS = """
import json, function_app
found = []
for f in function_app.app.get_functions():
    trigger = f.get_trigger()
    if getattr(trigger, "route", None) is not None or type(trigger).__name__ == "HttpTrigger":
        found.append([f.get_function_name(), trigger.route, sorted(str(m) for m in trigger.methods or [])])
print(json.dumps(found))
"""
# 429, 502 and 503: a cloud provisioner throttled, failed or had no capacity (the manual burst)
ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "429", "502", "503"}


def _app_http_functions() -> dict[str, tuple[str, list[str]]]:
    out = subprocess.run(
        [sys.executable, "-c", LIST_HTTP_FUNCTIONS], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return {name: (route, methods) for name, route, methods in json.loads(out.stdout.splitlines()[-1])}


def _operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_served_document_is_valid_openapi_3_1_and_is_the_generated_one(http):
    response = http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document == json.loads(json.dumps(openapi_document()))


def test_every_http_function_of_the_app_has_its_route_and_no_route_lacks_a_function():
    functions = _app_http_functions()
    table = {r.function: r for r in ROUTES}
    assert sorted(functions) == sorted(table), "add the missing functions to hpcburst/api/routes.py"
    for name, (route, methods) in functions.items():
        entry = table[name]
        assert entry.path == f"/api/{route}", name
        assert [m.rsplit(".", 1)[-1].upper() for m in methods] == [entry.method], name


def test_every_error_status_answers_the_error_body():
    for path, method, operation in _operations(openapi_document()):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert errors or path == "/api/health", f"{method} {path} documents no error"
        assert set(errors) <= ERROR_STATUSES
        for status, answer in errors.items():
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{method} {path} {status}"
    error_body = openapi_document()["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["error", "message"] and "details" in error_body["properties"]


def test_every_operation_but_the_health_check_needs_the_bearer_token_and_may_answer_401_and_403():
    document = openapi_document()
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, method, operation in _operations(document):
        if path == "/api/health":
            assert operation["security"] == []
            continue
        assert operation["security"] == [{"bearer": []}], f"{method} {path}"
        assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
        assert operation["tags"][0] in ("users", "admins", "nodes")


def test_the_health_check_answers_ok(http):
    response = http.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_answers_keep_the_shapes_the_sdk_reads(http):
    job = http.post("/jobs", json={"pool": "no-agents-here", "tasks": [{"command": "echo *"}]}).json()
    page = http.get(f"/jobs/{job['id']}/tasks").json()
    assert page["continuation"] is None  # present on the last page, as before
    (task,) = page["tasks"]
    assert "node" not in task and "exit_code" not in task  # unset facts are left out
    assert "holder" not in task and "open_batch" not in task  # store-only markers never leak
    assert http.get(f"/jobs/{job['id']}/tasks/0").json()["command"] == "echo *"
