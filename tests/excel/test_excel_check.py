"""Before submit: books the nodes could not calculate are refused naming cells and functions; tables and
addresses that mean nothing are refused naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from excel_books import write_book

from hpcburst.errors import InvalidSpec
from hpcburst.excel.addresses import cell, output_cells
from hpcburst.excel.cases import read_cases
from hpcburst.excel.job import WorkbookJob


def cases_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_unsupported_functions_are_refused_naming_each_function_and_its_cells(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {
        "In": {"A1": 1},
        "Out": {"A1": "=In!A1*2", "B1": "=FANCYFN(In!A1)", "B2": "=FANCYFN(2)+1", "C3": "=_xlfn.XLOOKUP(1,In!A1:A2,In!A1:A2)"},
    })  # fmt: skip
    job = WorkbookJob(book, cases_csv(tmp_path / "c.csv", "In!A1\n1\n"), "Out!A1")
    with pytest.raises(InvalidSpec) as refused:
        job.plan()
    message = refused.value.message
    assert "functions the engine cannot calculate" in message
    assert "FANCYFN in Out!B1, Out!B2" in message
    assert "XLOOKUP in Out!C3" in message
    assert "Out!A1" not in message.split("calculate:")[1]  # a supported cell is not named


def test_references_to_other_workbooks_are_refused_naming_the_cells(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {
        "In": {"A1": 1},
        "Out": {"A1": "=In!A1*2", "A2": "=[1]Prices!B2*2", "A3": "='[rates.xlsx]Curve'!A1+1", "A4": '="[not a link]"'},
    })  # fmt: skip
    with pytest.raises(InvalidSpec, match=r"references to other workbooks in Out!A2, Out!A3$"):
        WorkbookJob(book, cases_csv(tmp_path / "c.csv", "In!A1\n1\n"), "Out!A1").plan()


def test_inputs_and_outputs_on_sheets_the_book_lacks_are_refused(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {"In": {"A1": 1}, "Out": {"A1": "=In!A1"}})
    with pytest.raises(
        InvalidSpec, match=r"Results!A1 is on sheet 'Results', which the book does not have \(In, Out\)"
    ):
        WorkbookJob(book, cases_csv(tmp_path / "c.csv", "In!A1\n1\n"), "Results!A1").plan()
    with pytest.raises(InvalidSpec, match="Inptus!A1 is on sheet 'Inptus'"):
        WorkbookJob(book, cases_csv(tmp_path / "c.csv", "Inptus!A1\n1\n"), "Out!A1").plan()


def test_a_header_that_is_neither_a_cell_nor_a_defined_name_is_refused(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {"In": {"A1": 1}, "Out": {"A1": "=In!A1"}})
    with pytest.raises(InvalidSpec, match="'rate' is neither a cell"):
        WorkbookJob(book, cases_csv(tmp_path / "c.csv", "rate\n1\n"), "Out!A1").plan()


def test_the_plan_resolves_names_and_ranges_and_leaves_blank_inputs_out(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[2] / "examples" / "excel"))
    from make_book import make_book

    book = make_book(tmp_path / "pricing.xlsx")
    cases = cases_csv(tmp_path / "c.csv", "Inputs!$B$2,Rate,Inputs!B6\n1000,0.1,2\n2000,,TRUE\n")
    plan = WorkbookJob(book, cases, "Out!C10, Out!D4:D5").plan()
    assert plan.inputs == ["Inputs!B2", "Inputs!B3", "Inputs!B6"]
    assert plan.outputs == ["Out!C10", "Out!D4", "Out!D5"]
    assert plan.cases == [
        {"Inputs!B2": 1000, "Inputs!B3": 0.1, "Inputs!B6": 2},
        {"Inputs!B2": 2000, "Inputs!B6": True},
    ]
    assert plan.headers == ["Inputs!$B$2", "Rate", "Inputs!B6"]


def test_cell_addresses_are_normalised_and_bad_ones_explained() -> None:
    assert cell("Inputs!$b$2") == "Inputs!B2"
    assert cell("'My sheet'!A1") == "'My sheet'!A1"
    assert output_cells("Out!C10,Out!D4:E5,Out!C10") == ["Out!C10", "Out!D4", "Out!E4", "Out!D5", "Out!E5"]
    assert output_cells("'A, B'!A1") == ["'A, B'!A1"]
    with pytest.raises(InvalidSpec, match="write SHEET!CELL"):
        cell("B2")
    with pytest.raises(InvalidSpec, match="no outputs"):
        output_cells(" , ")
    with pytest.raises(InvalidSpec, match="whole rows or columns"):
        output_cells("Out!A:A")


def test_cases_tables_read_from_csv_and_xlsx(tmp_path: Path) -> None:
    csv_table = read_cases(cases_csv(tmp_path / "c.csv", "In!A1,In!A2\n1,x\n2.5,FALSE\n\n"))
    assert csv_table.headers == ["In!A1", "In!A2"] and csv_table.rows == [[1, "x"], [2.5, False]]
    xlsx = write_book(
        tmp_path / "c.xlsx", {"Cases": {"A1": "In!A1", "B1": "In!A2", "A2": 1, "B2": "x", "A3": 2.5}}
    )
    assert read_cases(xlsx).rows == [[1, "x"], [2.5, None]]
    with pytest.raises(InvalidSpec, match="no cases below the header row"):
        read_cases(cases_csv(tmp_path / "e.csv", "In!A1\n"))
    with pytest.raises(InvalidSpec, match="give a .csv or .xlsx"):
        read_cases(cases_csv(tmp_path / "c.json", "{}"))
