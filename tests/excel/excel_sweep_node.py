"""A node's shared job directory for the runner and node-server specifications: a sweep placed in it, its
indices run there as the agent would run them, and its calculation server stopped afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcburst.excel.job import WorkbookJob
from hpcburst.excel.plan import BOOK_FILE, PLAN_FILE, CaseResult, result_name

EXAMPLES = Path(__file__).parents[2] / "examples" / "excel"
sys.path.insert(0, str(EXAMPLES))
from make_book import make_book, make_cases  # noqa: E402

__all__ = ["make_book", "make_cases"]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Path]:
    """A node's shared job directory; its calculation server (if one started) is stopped afterwards."""
    node = tmp_path / "node"
    node.mkdir()
    yield node
    stop_server(node)


def stop_server(node: Path) -> None:
    pid_file = node / ".hpcburst-excel" / "server.pid"
    if pid_file.exists():
        try:
            os.kill(server_pid(node), signal.SIGTERM)
        except ProcessLookupError:
            pass


def server_pid(node: Path) -> int:
    return int((node / ".hpcburst-excel" / "server.pid").read_text())


def place(node: Path, tmp_path: Path, cases: int) -> WorkbookJob:
    job = WorkbookJob(
        make_book(tmp_path / "pricing.xlsx"), make_cases(tmp_path / "cases.csv", cases), "Out!C10,Out!D4:D8"
    )
    (node / BOOK_FILE).write_bytes(job.book.read_bytes())
    (node / PLAN_FILE).write_text(job.plan().to_json())
    return job


def run_indices(node: Path, indices: range | list[int], env: dict[str, str] | None = None) -> str:
    """Run ``indices`` concurrently in ``node``, as a node's slots would: their stdout, joined."""
    runs = [
        subprocess.Popen([sys.executable, "-m", "hpcburst.excel.runner", str(i)], cwd=node, stdout=subprocess.PIPE, text=True,
                         env={**os.environ, **(env or {})})
        for i in indices
    ]  # fmt: skip
    logs = "".join(run.communicate(timeout=120)[0] for run in runs)
    assert [run.returncode for run in runs] == [0] * len(runs), logs
    return logs


def sweep_in(
    node: Path, tmp_path: Path, cases: int, env: dict[str, str] | None = None
) -> tuple[WorkbookJob, str]:
    """Place a sweep's book and plan in ``node`` and run its indices there concurrently: (job, their logs)."""
    job = place(node, tmp_path, cases)
    return job, run_indices(node, range(cases), env)


def results_in(node: Path, count: int) -> list[dict[str, object]]:
    return [CaseResult.from_json((node / result_name(i)).read_text()).outputs for i in range(count)]
