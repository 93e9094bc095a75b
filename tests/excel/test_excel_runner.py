"""The node-side runner: indices sharing a node's directory parse the book once between them, whether the
node's calculation server answers them or (``HPCBURST_EXCEL_NODE_SERVER=0``) each calculates in-process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from excel_sweep_node import make_book, make_cases, node, results_in, sweep_in

from hpcburst.excel.job import WorkbookJob
from hpcburst.excel.plan import PLAN_FILE

__all__ = ["node"]  # the fixture


def test_concurrent_indices_served_by_the_node_server_parse_once_and_match_a_local_run(
    node: Path, tmp_path: Path
) -> None:
    job, logs = sweep_in(node, tmp_path, 6)
    assert logs.count("parsed book.xlsx") == 1, logs
    assert "compiled form reused" not in logs  # the indices never loaded the book: the server holds it
    assert results_in(node, 6) == [r.outputs for r in job.calculate_locally()]
    assert results_in(node, 6)[3]["Out!D8"] == "#DIV/0!"  # the example's case 3 has 0 units
    assert "case 3: 6 outputs" in logs and "cell errors Out!D8=#DIV/0!" in logs


def test_without_the_server_each_index_calculates_in_process_and_still_parses_once(
    node: Path, tmp_path: Path
) -> None:
    job, logs = sweep_in(node, tmp_path, 6, env={"HPCBURST_EXCEL_NODE_SERVER": "0"})
    assert logs.count("parsed book.xlsx") == 1, logs
    assert logs.count("compiled form reused from the node cache") == 5
    assert not (node / ".hpcburst-excel" / "server.pid").exists()
    assert results_in(node, 6) == [r.outputs for r in job.calculate_locally()]


def test_an_index_outside_the_sweep_fails_with_a_reason(tmp_path: Path) -> None:
    job = WorkbookJob(make_book(tmp_path / "pricing.xlsx"), make_cases(tmp_path / "cases.csv", 2), "Out!C10")
    (tmp_path / PLAN_FILE).write_text(job.plan().to_json())
    run = subprocess.run(
        [sys.executable, "-m", "hpcburst.excel.runner", "5"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "index 5 is outside this sweep's 2 cases" in run.stderr
