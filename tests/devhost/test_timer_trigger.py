"""Timer triggers: NCRONTAB schedules fire, run_on_startup, missed occurrences are past due, admin invoke."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
from devhost_helpers import eventually


def test_an_every_second_schedule_fires_repeatedly(start_host):
    start_host("timers")
    app = sys.modules["function_app"]
    eventually(lambda: len(app.TICKS) >= 3, what="three ticks")
    assert not any(app.TICKS)


def test_run_on_startup_fires_once_when_the_host_starts(start_host):
    start_host("timers")
    app = sys.modules["function_app"]
    eventually(lambda: app.BOOTS, what="the startup run")
    time.sleep(0.5)
    assert app.BOOTS == [False]


def test_an_occurrence_missed_while_the_host_was_down_fires_past_due(start_host, tmp_path):
    status = tmp_path / "data" / "timers" / "daily.json"
    status.parent.mkdir(parents=True)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    status.write_text(
        json.dumps({"Last": (yesterday - timedelta(days=1)).isoformat(), "Next": yesterday.isoformat()})
    )
    start_host("timers")
    app = sys.modules["function_app"]
    fired = eventually(lambda: app.DAILY, what="the past-due run")
    assert fired[0]["past_due"] is True
    assert datetime.fromisoformat(json.loads(status.read_text())["Next"]) > datetime.now(UTC)


def test_the_monitor_remembers_the_next_occurrence_for_the_next_start(start_host, tmp_path):
    host = start_host("timers")
    host.stop()
    status = json.loads((tmp_path / "data" / "timers" / "daily.json").read_text())
    assert datetime.fromisoformat(status["Next"]).hour == 3
    assert not (tmp_path / "data" / "timers" / "tick.json").exists()  # every second: not monitored


def test_the_admin_api_runs_a_timer_function_now(start_host):
    host = start_host("timers")
    app = sys.modules["function_app"]
    master = host.host.keys.master
    url = host.base_url + "/admin/functions/daily"
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, params={"code": master}).status_code == 202
    assert eventually(lambda: app.DAILY, what="the admin run")[0]["past_due"] is False
