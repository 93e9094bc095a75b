"""The engine calculates as Excel does: books compared with the values Excel shows, cached in them."""

from __future__ import annotations

from pathlib import Path

import pytest
from excel_books import cached_values, with_cached_values, write_book
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName

from hpcburst.excel.engine import Book, missing_functions

# formula -> what Excel 365 shows for it, with Data!A1:A3 = 1, 2, 3 and Data!B1:B3 = 10, 20, 30
EXCEL_SHOWS = {
    "=SUM(Data!A1:A3)": 6,
    "=AVERAGE(Data!A1:A3)": 2,
    "=ROUND(2.5,0)": 3,
    "=ROUND(-2.5,0)": -3,  # half away from zero, not Python's banker's rounding
    "=INT(-2.5)": -3,
    "=MOD(-3,2)": 1,  # the divisor's sign, not C's
    "=1/0": "#DIV/0!",
    '=IF(Data!A1>1,"big","small")': "small",
    "=VLOOKUP(2,Data!A1:B3,2,FALSE)": 20,
    "=VLOOKUP(9,Data!A1:B3,2,FALSE)": "#N/A",
    "=MATCH(3,Data!A1:A3,0)": 3,
    '="a"&"b"&Data!A2': "ab2",
    "=AND(TRUE,FALSE)": False,
    '=LEN("hello")': 5,
    "=SQRT(-1)": "#NUM!",
    '="x"+1': "#VALUE!",
    "=POWER(2,10)": 1024,
    '=IFERROR(1/0,"none")': "none",
    "=SUMPRODUCT(Data!A1:A3,Data!B1:B3)": 140,
    '=COUNTIF(Data!A1:A3,">1")': 2,
    "=DATE(2024,1,31)": 45322,
    "=Rate*2": 0.1,
}


@pytest.fixture
def excel_book(tmp_path: Path) -> Path:
    cells = {f"A{row}": formula for row, formula in enumerate(EXCEL_SHOWS, start=1)}
    path = write_book(tmp_path / "known.xlsx", {
        "Sheet": cells,
        "Data": {"A1": 1, "A2": 2, "A3": 3, "B1": 10, "B2": 20, "B3": 30, "C1": 0.05},
    })  # fmt: skip
    book = load_workbook(path)
    book.defined_names["Rate"] = DefinedName("Rate", attr_text="Data!$C$1")
    book.save(path)
    cached = {f"A{row}": shown for row, shown in enumerate(EXCEL_SHOWS.values(), start=1)}
    return with_cached_values(path, 0, cached)


def test_every_formula_gives_the_value_excel_cached_in_the_book(excel_book: Path) -> None:
    cached = cached_values(excel_book)
    assert len(cached) == len(EXCEL_SHOWS)
    book = Book.load(excel_book)
    calculated = book.calculate({}, list(cached))
    assert calculated == pytest.approx(cached)


def test_a_case_sets_inputs_and_a_later_case_that_leaves_an_input_gets_the_books_own_value(
    tmp_path: Path,
) -> None:
    path = write_book(tmp_path / "b.xlsx", {"In": {"A1": 2, "A2": 3}, "Out": {"A1": "=In!A1*In!A2"}})
    book = Book.load(path)
    book.prepare(["Out!A1", "In!A1", "In!A2"])
    assert book.calculate({"In!A1": 10}, ["Out!A1"]) == {"Out!A1": 30}
    assert book.calculate({"In!A2": 5}, ["Out!A1"]) == {"Out!A1": 10}  # In!A1 is 2 again
    assert book.calculate({}, ["Out!A1"]) == {"Out!A1": 6}


def test_a_cell_error_is_a_value_not_an_exception(tmp_path: Path) -> None:
    path = write_book(tmp_path / "b.xlsx", {"S": {"A1": 1, "A2": 0, "B1": "=A1/A2", "B2": "=B1+1"}})
    assert Book.load(path).calculate({}, ["S!B1", "S!B2"]) == {"S!B1": "#DIV/0!", "S!B2": "#DIV/0!"}


def test_a_chain_of_twenty_thousand_cells_calculates(tmp_path: Path) -> None:
    cells = {"A1": 1, **{f"A{r}": f"=A{r - 1}+1" for r in range(2, 20_001)}}
    path = write_book(tmp_path / "chain.xlsx", {"S": cells})
    book = Book.load(path)
    assert book.calculate({"S!A1": 5}, ["S!A20000"]) == {"S!A20000": 20_004}


def test_the_compiled_form_calculates_what_the_parsed_book_does(tmp_path: Path) -> None:
    path = write_book(
        tmp_path / "b.xlsx",
        {"In": {"A1": 2}, "Out": {"A1": "=ROUND(In!A1^2/3,2)", "A2": "=SUM(Out!A1,In!A1)"}},
    )
    parsed = Book.load(path)
    parsed.prepare(["Out!A1", "Out!A2", "In!A1"])
    parsed.save_compiled(tmp_path / "b.compiled")
    reloaded = Book.from_compiled(tmp_path / "b.compiled.pkl")
    for value in (1, 7.5, -3):
        assert reloaded.calculate({"In!A1": value}, ["Out!A1", "Out!A2"]) == parsed.calculate(
            {"In!A1": value}, ["Out!A1", "Out!A2"]
        )


def test_a_python_function_is_callable_from_cells_by_name(tmp_path: Path) -> None:
    """The plug point of UDF offload: a custom function name resolves to a Python function."""
    path = write_book(tmp_path / "udf.xlsx", {"S": {"A1": 3, "A2": "=PRICEOPT(A1,2)+1"}})
    book = Book.load(path, functions={"PRICEOPT": lambda x, y: x * 10 + y})
    assert book.calculate({}, ["S!A2"]) == {"S!A2": 33}
    assert missing_functions("=PRICEOPT(A1,2)") == {"PRICEOPT"}
    assert missing_functions("=PRICEOPT(A1,2)", {"PRICEOPT": max}) == set()


def test_missing_functions_names_them_as_the_formula_writes_them() -> None:
    assert missing_functions("=SUM(A1:A2)+ROUND(A1,2)") == set()
    assert missing_functions("=FOO(1)+_xlfn.XLOOKUP(1,A1:A2,B1:B2)+SUM(1)") == {"FOO", "XLOOKUP"}
