"""Helpers shared by the devhost tests: where the sample apps are, waiting for a condition, the CLI as a child."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

APPS = Path(__file__).parent / "apps"


def eventually(check: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    """Poll ``check`` until it returns something truthy (and return that), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run_cli(
    *args: str, timeout: float = 60.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``hpcburst devhost ARGS`` in a child process, expected to exit by itself."""
    return subprocess.run(
        [sys.executable, "-m", "hpcburst.cli.main", "devhost", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
