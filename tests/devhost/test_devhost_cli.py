"""`hpcburst devhost` as a process: it serves and stops on SIGTERM; bad apps and ports are clear errors, no traceback."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
from devhost_helpers import APPS, eventually, run_cli

from hpcburst.devhost.process import DevhostProcess


def assert_clear_error(result, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_the_cli_serves_the_app_lists_its_functions_and_stops_gracefully_on_sigterm(tmp_path):
    proc = DevhostProcess.start(APPS / "cli_smoke", data_dir=tmp_path / "data")
    try:
        assert httpx.get(proc.base_url + "/api/hello").text == f"hello from pid {proc.proc.pid}"
    finally:
        code = proc.terminate()
    assert code == 0
    log = proc.log()
    assert f"hello: [GET,POST,DELETE,HEAD,PATCH,PUT,OPTIONS] http://localhost:{proc.port}/api/hello" in log
    assert "Host started" in log


def test_sigterm_ends_the_process_even_when_a_sync_function_never_returns(tmp_path):
    proc = DevhostProcess.start(APPS / "cli_smoke", data_dir=tmp_path / "data", shutdown_grace=1.0)
    outcome: list[str] = []

    def call_hang() -> None:
        try:
            outcome.append(str(httpx.get(proc.base_url + "/api/hang", timeout=60).status_code))
        except httpx.HTTPError as err:
            outcome.append(type(err).__name__)

    caller = threading.Thread(target=call_hang, daemon=True)
    try:
        caller.start()
        eventually(lambda: "Executing 'Functions.hang'" in proc.log(), what="the hanging function to start")
    finally:
        code = proc.terminate(timeout=30)
    caller.join(timeout=10)
    assert code == 0
    assert "still busy after the grace period" in proc.log()
    assert outcome and outcome[0] != "200"  # the caller is told, not left waiting


def test_missing_function_app(tmp_path):
    result = run_cli("--app-dir", str(tmp_path), "--port", "0", "--data-dir", str(tmp_path / "d"))
    assert_clear_error(result, f"no function_app.py in {tmp_path}", "--app-dir")


def test_function_app_that_fails_to_import_shows_the_import_error(tmp_path):
    result = run_cli("--app-dir", str(APPS / "broken_import"), "--port", "0", "--data-dir", str(tmp_path))
    assert_clear_error(
        result,
        "failed to import: ModuleNotFoundError: No module named 'hpcburst_no_such_module'",
        "broken_import/function_app.py:4",
    )


def test_a_syntax_error_names_the_line(tmp_path):
    (tmp_path / "function_app.py").write_text("import azure.functions as func\napp = func.FunctionApp(\n")
    result = run_cli("--app-dir", str(tmp_path), "--port", "0", "--data-dir", str(tmp_path / "d"))
    assert_clear_error(result, "failed to import: SyntaxError", "function_app.py:2")


def test_route_conflict(tmp_path):
    result = run_cli("--app-dir", str(APPS / "route_conflict"), "--port", "0", "--data-dir", str(tmp_path))
    assert_clear_error(result, "route conflict", "'get_job' and 'also_get_job'", "GET", "jobs/{job}")


def test_unknown_connection_setting(tmp_path):
    result = run_cli("--app-dir", str(APPS / "bad_connection"), "--port", "0", "--data-dir", str(tmp_path))
    assert_clear_error(result, "the connection 'MissingStorage' is not set", "local.settings.json")


def test_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(
            "--app-dir", str(APPS / "cli_smoke"), "--port", str(port), "--host", "127.0.0.1",
            "--data-dir", str(tmp_path),
        )  # fmt: skip
    assert_clear_error(result, f"port {port} is in use", "--port")


def test_bad_host_json(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text((APPS / "cli_smoke" / "function_app.py").read_text())
    (app / "host.json").write_text('{"version": "2.0",')
    result = run_cli("--app-dir", str(app), "--port", "0", "--data-dir", str(tmp_path / "d"))
    assert_clear_error(result, "host.json is not valid JSON")


def test_python_dash_m_is_the_same_command(tmp_path: Path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "hpcburst.devhost", "--app-dir", str(tmp_path)], capture_output=True, text=True
    )
    assert_clear_error(result, "no function_app.py")


def test_host_json_log_level_applies_to_the_host_log(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text((APPS / "cli_smoke" / "function_app.py").read_text())
    (app / "host.json").write_text('{"version": "2.0", "logging": {"logLevel": {"default": "Warning"}}}')
    proc = DevhostProcess.start(app, data_dir=tmp_path / "data")
    try:
        assert httpx.get(proc.base_url + "/api/hello").status_code == 200
    finally:
        assert proc.terminate() == 0
    assert "Host started" in proc.log()
    assert "Executing 'Functions.hello'" not in proc.log()
