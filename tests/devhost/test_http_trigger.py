"""HTTP triggers: routes and their parameters, methods, sync/async functions, return types, errors, auth, settings."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from hpcburst.devhost.auth import FUNCTION_KEY_SETTING, MASTER_KEY_SETTING


@pytest.fixture
def http_app(start_host, monkeypatch):
    monkeypatch.setenv("DEVHOST_TEST_OVERRIDDEN", "from the environment")
    host = start_host("http")
    with httpx.Client(base_url=host.base_url + "/api", timeout=10) as client:
        client.host = host  # type: ignore[attr-defined]
        yield client


def test_route_parameters_reach_the_function(http_app):
    response = http_app.get("/hello/ada")
    assert response.status_code == 200
    assert response.text == "hello ada"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_literal_segments_win_over_parameters_and_constraints_pick_the_route(http_app):
    assert http_app.get("/items/new").json() == {"by": "literal"}
    assert http_app.get("/items/42").json() == {"by": "id", "id": "42"}
    assert http_app.get("/items/widget").json() == {"by": "slug", "slug": "widget"}
    assert http_app.get("/items/4x2").status_code == 404  # neither int nor alpha


def test_optional_and_catch_all_parameters(http_app):
    assert http_app.get("/files").json() == {"name": None}
    assert http_app.get("/files/report.txt").json() == {"name": "report.txt"}
    assert http_app.get("/blobs/a/b/c.txt").json() == {"path": "a/b/c.txt"}


def test_methods_select_the_function_and_others_are_not_found(http_app):
    assert http_app.delete("/items/7").json() == {"deleted": "7"}
    assert http_app.post("/items/7").status_code == 404
    assert http_app.get("/echo").status_code == 404
    assert http_app.put("/echo", content=b"x").status_code == 201


def test_the_request_carries_method_url_query_headers_and_body_and_the_response_its_status_headers_mimetype(
    http_app,
):
    response = http_app.post("/echo?a=1&a=2&b=x", content=b"payload", headers={"X-Test": "yes"})
    assert response.status_code == 201
    assert response.headers["x-echo"] == "1"
    assert response.headers["content-type"] == "application/json"
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["url"].endswith("/api/echo?a=1&a=2&b=x")
    assert seen["params"] == {"a": "1,2", "b": "x"}
    assert seen["header"] == "yes"
    assert seen["body"] == "payload"


def test_sync_functions_run_on_worker_threads_and_async_ones_on_the_event_loop(http_app):
    assert http_app.post("/echo", content=b"").json()["thread"].startswith("function")
    assert http_app.get("/async_echo/hi").json() == {"word": "hi", "thread": "devhost"}


def test_return_types_as_functions_maps_them(http_app):
    plain = http_app.get("/plain")
    assert (plain.status_code, plain.text) == (200, "just text")
    assert http_app.get("/nothing").status_code == 204
    unsupported = http_app.get("/weird")
    assert unsupported.status_code == 500
    assert unsupported.json()["error"] == "InternalError"


def test_a_named_http_output_set_through_func_out_is_the_response(http_app):
    response = http_app.get("/via_out")
    assert (response.status_code, response.text) == (202, "set through func.Out")


def test_an_exception_is_a_500_with_a_short_body_and_no_detail(http_app):
    response = http_app.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": "InternalError",
        "message": "function 'boom' failed; see the devhost log",
    }
    assert "secret detail" not in response.text


def test_unknown_paths_are_404(http_app):
    assert http_app.get("/no/such/route").status_code == 404
    assert httpx.get(http_app.host.base_url + "/hello/ada").status_code == 404  # outside the route prefix


def test_without_enable_auth_auth_levels_are_not_checked_as_with_func_start(http_app):
    assert http_app.get("/secured").text == "function level ok"
    assert http_app.get("/admin_only").text == "admin level ok"


def test_enable_auth_demands_function_and_admin_keys_from_the_data_dir(start_host):
    host = start_host("http", enable_auth=True)
    http_app = httpx.Client(base_url=host.base_url + "/api", timeout=10)
    keys = json.loads(host.host.keys.path.read_text())
    function_key, master_key = keys["functionKeys"]["default"], keys["masterKey"]
    assert http_app.get("/secured").status_code == 401
    assert http_app.get("/secured", params={"code": "wrong"}).status_code == 401
    assert http_app.get("/secured", params={"code": function_key}).text == "function level ok"
    assert http_app.get("/secured", headers={"x-functions-key": master_key}).status_code == 200
    assert http_app.get("/admin_only", params={"code": function_key}).status_code == 401
    assert http_app.get("/admin_only", params={"code": master_key}).text == "admin level ok"
    assert http_app.get("/plain").status_code == 200  # anonymous


def test_keys_survive_a_restart_and_settings_override_them(start_host, tmp_path, monkeypatch):
    first = start_host("http", data_dir=tmp_path / "keys", enable_auth=True)
    key = first.host.keys.function_keys[0]
    first.stop()
    second = start_host("http", data_dir=tmp_path / "keys", enable_auth=True)
    assert httpx.get(second.base_url + "/api/secured", params={"code": key}).status_code == 200
    second.stop()
    monkeypatch.setenv(FUNCTION_KEY_SETTING, "fixed-function-key")
    monkeypatch.setenv(MASTER_KEY_SETTING, "fixed-master-key")
    third = start_host("http", data_dir=tmp_path / "keys", enable_auth=True)
    assert httpx.get(third.base_url + "/api/secured", params={"code": key}).status_code == 401
    assert (
        httpx.get(third.base_url + "/api/secured", params={"code": "fixed-function-key"}).status_code == 200
    )
    assert (
        httpx.get(third.base_url + "/api/admin_only", params={"code": "fixed-master-key"}).status_code == 200
    )


def test_local_settings_become_app_settings_and_the_environment_wins(http_app):
    assert http_app.get("/setting/GREETING").text == "from local settings"
    assert http_app.get("/setting/NUMBER_SETTING").text == "5"
    assert http_app.get("/setting/DEVHOST_TEST_OVERRIDDEN").text == "from the environment"


def test_settings_are_removed_again_when_an_in_process_host_stops(start_host):
    host = start_host("http")
    assert os.environ["GREETING"] == "from local settings"
    host.stop()
    assert "GREETING" not in os.environ


def test_a_context_parameter_gets_the_invocation_context(http_app):
    assert http_app.get("/context").text == "named_function True"


def test_route_prefix_from_host_json(start_host):
    host = start_host("prefixed")
    assert httpx.get(host.base_url + "/v1/ping").text == "pong"
    assert httpx.get(host.base_url + "/api/ping").status_code == 404


def test_host_status_answers_without_a_key(http_app):
    status = httpx.get(http_app.host.base_url + "/admin/host/status").json()
    assert status["state"] == "Running"


def test_a_path_holding_an_encoded_newline_still_reaches_the_function(http_app):
    response = http_app.get("/hello/two%0Alines")
    assert (response.status_code, response.text) == (200, "hello two\nlines")


def test_a_body_over_the_size_limit_is_a_413_with_the_json_error_body(start_host, monkeypatch):
    monkeypatch.setattr("hpcburst.devhost.server.MAX_BODY", 1024)
    host = start_host("http")
    response = httpx.post(host.base_url + "/api/echo", content=b"x" * 4096, timeout=10)
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
