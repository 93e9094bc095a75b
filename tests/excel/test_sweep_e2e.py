"""A case sweep on the real local runtime (2 agents x 2 slots): merged results equal a serial local run."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.excel.job import SubmittedSweep, WorkbookJob
from hpcburst.excel.results import merge
from hpcburst.storage.blob.azure import AzureBlobStore

sys.path.insert(0, str(Path(__file__).parents[2] / "examples" / "excel"))
from make_book import make_book, make_cases  # noqa: E402

CASES = 24
OUTPUTS = "Out!C10,Out!D4:D8"


@pytest.fixture
def store(cluster: LocalCluster) -> AzureBlobStore:
    assert cluster.state is not None
    return AzureBlobStore.from_connection_string(cluster.state.connection)


def test_merged_results_equal_a_serial_local_calculation_cell_for_cell(
    scheduler: Scheduler, store: AzureBlobStore, task_python: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    python, env = task_python
    job = WorkbookJob(make_book(tmp_path / "pricing.xlsx", rows=60), make_cases(tmp_path / "cases.csv", CASES),
                      OUTPUTS, python=python, environment=env or None)  # fmt: skip
    submitted = job.submit(scheduler, store)
    view = scheduler.wait(submitted.job, timeout=240)
    assert view["state"] == "Finished", view
    results = submitted.results(scheduler, store)
    swept = merge(submitted.plan, results)
    local = merge(submitted.plan, job.calculate_locally(submitted.plan))
    assert swept.headers == local.headers == ["Inputs!B2", "Rate", "Inputs!B5", "Inputs!B6", "Out!C10", "Out!D4",
                                              "Out!D5", "Out!D6", "Out!D7", "Out!D8"]  # fmt: skip
    assert swept.rows == local.rows
    assert swept.column("Out!D8")[3] == "#DIV/0!"  # a failed case shows its cell error

    parses: dict[str, int] = {}
    for index, result in enumerate(results):
        assert result is not None
        log = scheduler.task_output(submitted.job, index).decode()
        parses[result.node] = parses.get(result.node, 0) + log.count("parsed book.xlsx")
    assert parses and all(count == 1 for count in parses.values()), parses  # one parse per node

    swept.write_xlsx(tmp_path / "results.xlsx")
    sheet = load_workbook(tmp_path / "results.xlsx").active
    assert sheet is not None and sheet.max_row == CASES + 1
    assert sheet["J5"].value == "#DIV/0!" and sheet["J5"].data_type == "e"  # an error cell, as Excel shows it


def test_the_cli_sweeps_waits_and_writes_the_results_workbook_and_csv(
    cluster: LocalCluster, store: AzureBlobStore, task_python: tuple[str, dict[str, str]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, scheduler: Scheduler,
) -> None:  # fmt: skip
    assert cluster.state is not None
    monkeypatch.setenv("HPCBURST_URL", cluster.url)
    monkeypatch.setenv("HPCBURST_TOKEN", cluster.admin_token)
    monkeypatch.setenv("AzureWebJobsStorage", cluster.state.connection)
    book, cases = make_book(tmp_path / "pricing.xlsx"), make_cases(tmp_path / "cases.csv", 5)
    python, env = task_python
    argv = ["excel", "sweep", str(book), "--cases", str(cases), "--outputs", OUTPUTS, "--out", str(tmp_path / "r.xlsx"),
            "--wait", "--python", python, *(f"--env={k}={v}" for k, v in env.items())]  # fmt: skip
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "5 cases -> " in said and "(1 cell errors)" in said
    csv_rows = (tmp_path / "r.csv").read_text().splitlines()
    assert len(csv_rows) == 6 and csv_rows[4].endswith(",#DIV/0!")

    job = re.search(r"submitted job (\S+)", result.output)[1]  # type: ignore[index]
    collected = CliRunner().invoke(app, ["excel", "collect", job, "--out", str(tmp_path / "again.xlsx")])
    assert collected.exit_code == 0, collected.output
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "r.csv").read_text()
    assert SubmittedSweep.of_job(scheduler, store, job).plan.outputs[0] == "Out!C10"


def test_a_case_whose_index_fails_shows_na_and_the_reason_in_the_merged_results(
    scheduler: Scheduler, store: AzureBlobStore, task_python: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    python, env = task_python
    job = WorkbookJob(make_book(tmp_path / "pricing.xlsx"), make_cases(tmp_path / "cases.csv", 2), "Out!C10",
                      execute="no_such_module:execute", python=python, environment=env or None)  # fmt: skip
    submitted = job.submit(scheduler, store)
    assert scheduler.wait(submitted.job, timeout=120)["state"] == "Failed"
    table = submitted.merged(scheduler, store)
    assert table.headers[-1] == "error"
    assert table.column("Out!C10") == ["#N/A", "#N/A"]
    assert all("No module named 'no_such_module'" in str(why) for why in table.column("error"))
