"""`burst simulate --png` draws with matplotlib, the optional [plots] extra: without it the command says
what to install, in one line, before simulating anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpcburst.cli.main import app


def test_png_without_matplotlib_says_to_install_the_plots_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    monkeypatch.delitem(sys.modules, "hpcburst.sim.plot", raising=False)
    png = tmp_path / "timeline.png"
    result = CliRunner().invoke(app, ["burst", "simulate", "--trace", "steady", "--png", str(png)])
    assert result.exit_code == 2, result.output
    assert "install hpcburst[plots]" in " ".join(result.output.split())
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an ImportError traceback
    assert not png.exists()


def test_png_with_matplotlib_writes_the_timeline(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "timeline.png"
    result = CliRunner().invoke(app, ["burst", "simulate", "--trace", "steady", "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:4] == b"\x89PNG"
