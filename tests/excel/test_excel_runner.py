"""The node-side runner: indices sharing a node's directory parse the book once between them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hpcburst.excel.job import WorkbookJob
from hpcburst.excel.plan import BOOK_FILE, PLAN_FILE, CaseResult, result_name

EXAMPLES = Path(__file__).parents[2] / "examples" / "excel"
sys.path.insert(0, str(EXAMPLES))
from make_book import make_book, make_cases  # noqa: E402


def test_concurrent_indices_in_one_node_directory_parse_once_and_match_a_local_run(tmp_path: Path) -> None:
    job = WorkbookJob(
        make_book(tmp_path / "pricing.xlsx"), make_cases(tmp_path / "cases.csv", 6), "Out!C10,Out!D4:D8"
    )
    plan = job.plan()
    node = tmp_path / "node"
    node.mkdir()
    (node / BOOK_FILE).write_bytes(job.book.read_bytes())
    (node / PLAN_FILE).write_text(plan.to_json())
    runs = [
        subprocess.Popen([sys.executable, "-m", "hpcburst.excel.runner", str(i)], cwd=node, stdout=subprocess.PIPE, text=True)
        for i in range(len(plan.cases))
    ]  # fmt: skip
    logs = "".join(run.communicate(timeout=120)[0] for run in runs)
    assert [run.returncode for run in runs] == [0] * len(runs)
    assert logs.count("parsed book.xlsx") == 1, logs
    assert logs.count("compiled form reused from the node cache") == len(runs) - 1
    on_node = [CaseResult.from_json((node / result_name(i)).read_text()).outputs for i in range(len(runs))]
    assert on_node == [r.outputs for r in job.calculate_locally(plan)]
    assert on_node[3]["Out!D8"] == "#DIV/0!"  # the example's case 3 has 0 units
    assert "case 3: 6 outputs" in logs and "cell errors Out!D8=#DIV/0!" in logs


def test_an_index_outside_the_sweep_fails_with_a_reason(tmp_path: Path) -> None:
    job = WorkbookJob(make_book(tmp_path / "pricing.xlsx"), make_cases(tmp_path / "cases.csv", 2), "Out!C10")
    (tmp_path / PLAN_FILE).write_text(job.plan().to_json())
    run = subprocess.run(
        [sys.executable, "-m", "hpcburst.excel.runner", "5"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "index 5 is outside this sweep's 2 cases" in run.stderr
