"""WorkbookJob's hooks (HPC_Partition, HPC_Execute, HPC_Merge) and the command's refusals, without a cluster."""

from __future__ import annotations

import sys
from pathlib import Path

from excel_books import write_book
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.excel.cases import CaseTable
from hpcburst.excel.job import WorkbookJob
from hpcburst.excel.plan import CaseResult, SweepPlan
from hpcburst.excel.results import merge

sys.path.insert(0, str(Path(__file__).parents[2] / "examples" / "excel"))
from make_book import make_book  # noqa: E402


def simple_book(tmp_path: Path) -> Path:
    return write_book(
        tmp_path / "b.xlsx", {"In": {"A1": 1, "A2": 2}, "Out": {"A1": "=In!A1*10+In!A2", "A2": "=1/In!A1"}}
    )


def test_partition_makes_the_cases_from_the_table(tmp_path: Path) -> None:
    def monte_carlo(table: CaseTable) -> list[list[float]]:  # HPC_Partition: one case per seed row, x3
        return [[seed * k, 0] for (seed,) in table.rows for k in (1, 2, 3)]

    table = CaseTable(["In!A1"], [[1], [10]])
    job = WorkbookJob(
        simple_book(tmp_path),
        CaseTable(["In!A1", "In!A2"], []),
        "Out!A1",
        partition=lambda _: monte_carlo(table),
    )
    plan = job.plan()
    assert [c["In!A1"] for c in plan.cases] == [1, 2, 3, 10, 20, 30]
    assert [r.outputs["Out!A1"] for r in job.calculate_locally(plan)] == [10, 20, 30, 100, 200, 300]


def test_execute_replaces_the_default_calculation_step(tmp_path: Path) -> None:
    table = CaseTable(["In!A1"], [[1], [0]])
    job = WorkbookJob(simple_book(tmp_path), table, "Out!A1:A2", execute="excel_hooks:doubled")
    assert [r.outputs for r in job.calculate_locally()] == [
        {"Out!A1": 24, "Out!A2": 2.0},
        {"Out!A1": 4, "Out!A2": "#DIV/0!"},
    ]


def test_the_default_merge_shows_cell_errors_and_cases_without_results() -> None:
    plan = SweepPlan("sha", ["In!A1"], ["Out!A1", "Out!A2"], [{}, {}, {}], ["In!A1"], [[1], [0], [5]])
    results: list[CaseResult | None] = [
        CaseResult(0, {"Out!A1": 12, "Out!A2": 1.0}),
        CaseResult(1, {"Out!A1": 2, "Out!A2": "#DIV/0!"}),
        CaseResult(2, {}, error="case 2 was not calculated (Failed: MemoryError)"),
    ]
    table = merge(plan, results)
    assert table.headers == ["In!A1", "Out!A1", "Out!A2", "error"]
    assert table.rows == [
        [1, 12, 1.0, None],
        [0, 2, "#DIV/0!", None],
        [5, "#N/A", "#N/A", "case 2 was not calculated (Failed: MemoryError)"],
    ]


def test_text_that_looks_like_a_formula_stays_text_in_the_results_workbook(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    plan = SweepPlan("sha", ["In!A1"], ["Out!A1"], [{}], ["In!A1"], [["=HYPERLINK(1)"]])
    merge(plan, [CaseResult(0, {"Out!A1": "=1+1"})]).write_xlsx(tmp_path / "r.xlsx")
    row = [c.value for c in load_workbook(tmp_path / "r.xlsx").active[2]]  # type: ignore[index]
    assert row == ["=HYPERLINK(1)", "=1+1"]
    assert all(c.data_type == "s" for c in load_workbook(tmp_path / "r.xlsx").active[2])  # type: ignore[index]


def test_the_command_refuses_an_unsupported_book_naming_cells_and_functions_without_a_traceback(
    tmp_path: Path,
) -> None:
    book = write_book(tmp_path / "b.xlsx", {"In": {"A1": 1}, "Out": {"A1": "=NOSUCHFN(In!A1)"}})
    (tmp_path / "c.csv").write_text("In!A1\n1\n")
    result = CliRunner().invoke(
        app, ["excel", "sweep", str(book), "--cases", str(tmp_path / "c.csv"), "--outputs", "Out!A1"]
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "error: b.xlsx cannot be swept: functions the engine cannot calculate: NOSUCHFN in Out!A1" in said
    assert "Traceback" not in result.output


def test_the_command_checks_a_book_without_submitting(tmp_path: Path) -> None:
    book = make_book(tmp_path / "pricing.xlsx")
    (tmp_path / "c.csv").write_text("Rate,Inputs!B2\n0.1,100\n0.2,200\n")
    result = CliRunner().invoke(
        app,
        [
            "excel",
            "sweep",
            str(book),
            "--cases",
            str(tmp_path / "c.csv"),
            "--outputs",
            "Out!C10,Out!D4:D8",
            "--check",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "pricing.xlsx: 2 cases, 2 inputs, 6 outputs: checked" in result.output
    bad = CliRunner().invoke(
        app, ["excel", "sweep", str(book), "--cases", str(tmp_path / "c.csv"), "--outputs", "C10"]
    )
    assert bad.exit_code == 1 and "write SHEET!CELL, e.g. Inputs!B2" in bad.output
