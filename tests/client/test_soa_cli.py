"""`hpcburst service ...` and `hpcburst session ...`: tables, --json, and one line naming the fix on errors."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpcburst import soa
from hpcburst.cli import soa as cli_soa
from hpcburst.cli.main import app
from hpcburst.emulators import free_port

runner = CliRunner()


def _load_fake() -> object:
    path = Path(__file__).parents[1] / "soa" / "client" / "broker_fake.py"
    spec = importlib.util.spec_from_file_location("broker_fake", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("broker_fake") or importlib.util.module_from_spec(spec)
    if "broker_fake" not in sys.modules:
        sys.modules["broker_fake"] = module
        spec.loader.exec_module(module)
    return module


fake = _load_fake()


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    b = fake.FakeBroker()  # type: ignore[attr-defined]
    token = {"value": fake.OWNER_TOKEN}  # type: ignore[attr-defined]
    monkeypatch.setattr(cli_soa, "client", lambda: soa.connect("http://broker.test", token["value"],
                                                               transport=b.transport))  # fmt: skip
    b.token = token
    yield b


def _ok(argv: list[str]) -> str:
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_service_is_registered_with_its_settings_then_listed_shown_and_removed(broker: object) -> None:
    out = _ok(["service", "register", "echo", "--module", "echo_service", "--package", "echo-pkg",
               "--resend-limit", "5", "--operation-timeout", "30", "--env", "A=1", "--env", "B=x=y"])  # fmt: skip
    assert "service echo registered: module echo_service" in out
    assert broker.services["echo"]["environment"] == {"A": "1", "B": "x=y"}  # type: ignore[attr-defined]
    assert "echo_service" in _ok(["service", "list"])
    shown = json.loads(_ok(["service", "show", "echo", "--json"]))
    assert (shown["resend_limit"], shown["operation_timeout"], shown["package"]) == (5, 30.0, "echo-pkg")
    assert "resend limit" in _ok(["service", "show", "echo"])
    assert "service echo removed" in _ok(["service", "remove", "echo"])
    assert json.loads(_ok(["service", "list", "--json"])) == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["service", "register", "echo", "--module", "echo", "--env", "NOVALUE"], "NAME=VALUE"),
        (["service", "register", "echo", "--module", "not a module"], "module"),
        (["service", "register", "echo", "--module", "m", "--resend-limit", "0"], "resend_limit"),
        (["service", "show", "nothing"], "no service nothing"),
        (["session", "view", "404"], "no /api/sessions/404"),
        (["session", "list", "--state", "active"], "one of Active, Closing, Closed, Faulted"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(broker: object, argv: list[str], says: str) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 1 and says in result.output
    assert "Traceback" not in result.output and result.output.startswith("error: ")


def test_a_user_who_is_not_an_admin_cannot_register_or_remove(broker: object) -> None:
    broker.token["value"] = fake.OUTSIDER_TOKEN  # type: ignore[attr-defined]
    for argv in (["service", "register", "echo", "--module", "m"], ["service", "remove", "echo"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 1 and "for admins" in result.output


def test_sessions_are_listed_viewed_and_closed(broker: object) -> None:
    with cli_soa.client() as c:
        session = c.create_session(service="echo", durable=True, max_units=8)
    listed = _ok(["session", "list", "--state", "Active"])
    assert session.id in listed and "durable" in listed
    view = _ok(["session", "view", session.id])
    assert "Active" in view and "1 now" not in view and "1..8" in view
    assert json.loads(_ok(["session", "view", session.id, "--json"]))["service"] == "echo"
    assert f"session {session.id} closed and purged" in _ok(["session", "close", session.id, "--purge"])
    assert json.loads(_ok(["session", "list", "--json"]))[0]["state"] == "Closed"


def test_someone_elses_session_is_refused(broker: object) -> None:
    with cli_soa.client() as c:
        session = c.create_session(service="echo")
    broker.token["value"] = fake.OUTSIDER_TOKEN  # type: ignore[attr-defined]
    for argv in (["session", "view", session.id], ["session", "close", session.id]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 1 and "not your session" in result.output


@pytest.mark.parametrize("argv", [["service", "list"], ["session", "list"], ["session", "close", "1"]])
def test_an_unreachable_cluster_is_one_line_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HPCBURST_URL", url)
    monkeypatch.setenv("HPCBURST_TOKEN", "t")
    result = runner.invoke(app, argv)
    assert result.exit_code == 1 and f"cannot reach the cluster at {url}" in result.output
    assert "Traceback" not in result.output
