"""kill -9 of the engine process mid-orchestration, then a restart on the same database, finishes the instance:
acknowledged events survive, in-flight activities run again (at least once), completed ones never re-run."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from durable_support import APPS

API = "/runtime/webhooks/durabletask/"


class EngineProcess:
    def __init__(self, db_path: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hpcburst.devhost.durable.standalone", "--app", str(APPS / "crash_app.py"),
             "--db", str(db_path)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline()
        assert line.startswith("READY"), f"engine did not start: {line!r}"
        self.base = f"http://127.0.0.1:{line.split()[1]}{API}"

    def call(self, method: str, path: str, body=None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.proc.stdout.close()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def completed_tasks(db_path: Path) -> set[int]:
    """Activity inputs whose completion the history had committed when the process died."""
    db = sqlite3.connect(db_path)
    events = [
        json.loads(text) for (text,) in db.execute("SELECT event FROM history WHERE instance_id = 'crash-1'")
    ]
    db.close()
    return {json.loads(e["Result"]) for e in events if e["EventType"] == 5}


def test_kill_9_mid_orchestration_then_restart_completes_without_rerunning_finished_steps(tmp_path):
    db_path, effects = tmp_path / "hub.sqlite", tmp_path / "effects.log"
    engine = EngineProcess(db_path)
    try:
        args = {"path": str(effects), "steps": 6, "delay": 0.25}
        assert engine.call("POST", "orchestrators/crash_chain/crash-1", args)[0] == 202
        assert engine.call("POST", "instances/crash-1/raiseEvent/Finish", "acknowledged")[0] == 202
        assert engine.call("POST", "orchestrators/nap/nap-1", 1.5)[0] == 202
        wait_for(lambda: effects.exists() and "start 3" in effects.read_text())
    finally:
        engine.kill()
    done_before_crash = completed_tasks(db_path)
    assert {0, 1, 2} <= done_before_crash and 5 not in done_before_crash

    engine = EngineProcess(db_path)
    try:
        wait_for(lambda: engine.call("GET", "instances/crash-1")[1]["runtimeStatus"] == "Completed")
        code, status = engine.call("GET", "instances/crash-1")
        wait_for(lambda: engine.call("GET", "instances/nap-1")[1]["runtimeStatus"] == "Completed")
        nap = engine.call("GET", "instances/nap-1")[1]
    finally:
        engine.stop()

    assert code == 200
    assert nap["output"] == "woke up"  # the timer pending at the crash fired after the restart
    assert status["output"] == {
        "chain": [0, 1, 2, 3, 4, 5],
        "fan": [100, 101, 102, 103],
        "finish": "acknowledged",
    }
    starts = Counter(line.split()[1] for line in effects.read_text().splitlines() if line.startswith("start"))
    for step in done_before_crash:
        assert starts[str(step)] == 1, f"step {step} completed before the crash but ran again"
    for step in [0, 1, 2, 3, 4, 5, 100, 101, 102, 103]:
        assert starts[str(step)] >= 1
