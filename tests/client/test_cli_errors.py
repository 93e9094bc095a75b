"""The CLI turns every failure into one line naming the fix, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.emulators import free_port

runner = CliRunner()


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("HPCBURST_URL", url)
    return url


@pytest.mark.parametrize(
    "argv",
    [
        ["job", "view", "1"],
        ["job", "list"],
        ["job", "submit", "--sweep", "1-3", "--", "echo", "*"],
        ["task", "view", "1.2"],
        ["node", "list"],
        ["node", "offline", "n1"],
    ],
)
def test_an_unreachable_cluster_is_one_line_naming_the_fix(nowhere: str, argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"cannot reach the cluster at {nowhere}" in result.output
    assert "hpcburst up" in result.output and "HPCBURST_URL" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["job", "submit", "--sweep", "9-1", "--", "true"], "--sweep"),
        (["job", "submit", "--env", "NOVALUE", "--", "true"], "NAME=VALUE"),
        (["job", "submit", "--max-running", "0", "--", "true"], "max_running"),
        (["task", "view", "7"], "JOB.INDEX"),
    ],
)
def test_bad_input_is_rejected_before_anything_is_sent(nowhere: str, argv: list[str], says: str) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 1 and says in result.output
    assert "Traceback" not in result.output


def test_a_local_file_error_is_one_line_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = runner.invoke(app, ["up", "--agents", "0", "--data-dir", str(blocker / "cluster")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error:" in result.output and str(blocker) in result.output
    assert "Traceback" not in result.output
