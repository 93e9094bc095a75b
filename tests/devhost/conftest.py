"""Fixtures for the devhost tests: the sample apps, an in-process host factory, the CLI as a subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from devhost_helpers import APPS

from hpcburst.devhost.threaded import ThreadedHost, run_in_thread


@pytest.fixture
def start_host(tmp_path: Path) -> Iterator[Callable[..., ThreadedHost]]:
    """``start_host("http", **DevHost kwargs)``: the sample app running in-process; stopped after the test."""
    with ExitStack() as stack:

        def start(app: str | Path, **kwargs: Any) -> ThreadedHost:
            kwargs.setdefault("data_dir", tmp_path / "data")
            app_dir = app if isinstance(app, Path) else APPS / app
            return stack.enter_context(run_in_thread(app_dir, **kwargs))

        yield start
