"""Durable Functions through the host: an HTTP starter with a durable client, check-status URLs, and kill -9.

The engine's own behaviour is specified in tests/devhost/durable/; these tests cover the wiring: the client
binding, the webhook routes on the same server, host.json settings, the CLI and its data dir.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
from devhost_helpers import APPS, eventually

from hpcburst.devhost.process import DevhostProcess


def wait_for_output(status_url: str, timeout: float = 60.0) -> dict:
    def done() -> dict | None:
        status = httpx.get(status_url, timeout=10).json()
        return status if status["runtimeStatus"] in ("Completed", "Failed", "Terminated") else None

    return eventually(done, timeout=timeout, what=f"the orchestration at {status_url}")  # type: ignore[return-value]


def test_an_http_starter_starts_an_orchestration_and_its_status_url_reports_the_result(
    start_host, tmp_path, monkeypatch
):
    monkeypatch.setenv("EFFECTS_LOG", str(tmp_path / "effects.log"))
    host = start_host("durable")
    response = httpx.post(host.base_url + "/api/orchestrators/hello_sequence", json=["Oslo", "Lima"])
    assert response.status_code == 202
    urls = response.json()
    assert response.headers["location"] == urls["statusQueryGetUri"]
    assert urls["statusQueryGetUri"].startswith(host.base_url + "/runtime/webhooks/durabletask/instances/")
    status = wait_for_output(urls["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Oslo!", "Hello Lima!"]
    by_client = httpx.get(f"{host.base_url}/api/status/{urls['id']}").json()
    assert by_client == {"status": "Completed"}


def test_host_json_durable_settings_reach_the_engine_and_its_database_is_in_the_data_dir(
    start_host, tmp_path
):
    host = start_host("durable")
    engine = host.host.engine
    assert (engine.max_activities, engine.max_orchestrations, engine.task_hub) == (4, 2, "devhosttest")
    assert (tmp_path / "data" / "durable.db").exists()


def test_kill_9_of_the_devhost_mid_orchestration_then_a_restart_finishes_it(tmp_path):
    effects = tmp_path / "effects.log"
    env = {"EFFECTS_LOG": str(effects), "STEP_SECONDS": "0.3"}
    data = tmp_path / "data"
    first = DevhostProcess.start(APPS / "durable", data_dir=data, env=env)
    try:
        started = httpx.post(first.base_url + "/api/orchestrators/slow_chain", json={"steps": 8}, timeout=10)
        assert started.status_code == 202
        instance = started.json()["id"]
        eventually(lambda: effects.exists() and "end 2" in effects.read_text(), what="three finished steps")
    finally:
        first.kill()
    ran_before = effects.read_text()
    assert "end 7" not in ran_before

    second = DevhostProcess.start(APPS / "durable", data_dir=data, env=env)
    try:
        status = wait_for_output(f"{second.base_url}/runtime/webhooks/durabletask/instances/{instance}")
    finally:
        assert second.terminate() == 0
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == list(range(8))
    finished = Counter(line.split()[1] for line in effects.read_text().splitlines() if line.startswith("end"))
    assert set(finished) == {str(i) for i in range(8)}
    # At least once: only the step running at the kill may have run twice; finished ones never re-run.
    assert sum(count - 1 for count in finished.values()) <= 1


def test_sigterm_does_not_wait_for_a_long_activity_which_runs_again_at_the_next_start(tmp_path):
    effects = tmp_path / "effects.log"
    env = {"EFFECTS_LOG": str(effects), "STEP_SECONDS": "60"}
    host = DevhostProcess.start(APPS / "durable", data_dir=tmp_path / "data", env=env, shutdown_grace=1.0)
    try:
        started = httpx.post(host.base_url + "/api/orchestrators/slow_chain", json={"steps": 1}, timeout=10)
        assert started.status_code == 202
        eventually(lambda: effects.exists() and "start 0" in effects.read_text(), what="the step to start")
        began = time.monotonic()
        assert host.terminate(timeout=30) == 0
    finally:
        host.kill()
    assert time.monotonic() - began < 15  # the grace and the host's own shutdown, not the activity's 60 s
    assert "end 0" not in effects.read_text()

    env["STEP_SECONDS"] = "0.1"
    again = DevhostProcess.start(APPS / "durable", data_dir=tmp_path / "data", env=env)
    try:
        status = wait_for_output(
            f"{again.base_url}/runtime/webhooks/durabletask/instances/{started.json()['id']}"
        )
    finally:
        again.terminate()
    assert status["runtimeStatus"] == "Completed" and status["output"] == [0]
    assert effects.read_text().splitlines() == ["start 0", "start 0", "end 0"]
