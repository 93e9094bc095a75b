"""Recalculating with UDFs (local mode): distinct calls gathered per round, cached by (function, arguments),
one round per chain level, a raising UDF an error cell; books the engine cannot do are refused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from excel_books import write_book
from openpyxl import load_workbook

from hpcburst.errors import InvalidSpec, InvalidState
from hpcburst.excel import udf
from hpcburst.excel.udf import Call, Outcome, call_udf, udfs_of
from hpcburst.excel.udf_calc import Calculated, calculate, local_offload


class CountingOffload:
    """The local offload, remembering every round's calls."""

    def __init__(self, udfs: dict[str, Callable[..., Any]]) -> None:
        self.rounds: list[list[Call]] = []
        self._local = local_offload(udfs)

    def __call__(self, calls: Sequence[Call]) -> list[tuple[Call, Outcome]]:
        self.rounds.append(list(calls))
        return list(self._local(calls))


def double(x: float) -> float:
    return x * 2


def fails(x: float) -> float:
    raise ZeroDivisionError(f"no price for {x}")


UDFS = {"DOUBLE": double, "FAILS": fails, "TOTAL": lambda rows: sum(v for row in rows for v in row)}


def run(
    path: Path, udfs: dict[str, Callable[..., Any]] = UDFS, **kw: Any
) -> tuple[Calculated, CountingOffload]:
    offload = CountingOffload(udfs)
    return calculate(path, udfs, offload, **kw), offload


def test_distinct_calls_are_gathered_once_and_every_cell_gets_its_value(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {"S": {
        "A1": 1, "A2": 2, "A3": 1,
        "B1": "=DOUBLE(A1)", "B2": "=DOUBLE(A2)", "B3": "=DOUBLE(A3)", "B4": "=DOUBLE(1)+DOUBLE(A2)",
        "C1": "=SUM(B1:B4)"}})  # fmt: skip
    result, offload = run(book)
    assert offload.rounds == [[("DOUBLE", (1,)), ("DOUBLE", (2,))]]  # six calls in cells, two distinct
    assert (result.udf_calls, result.distinct_calls, result.rounds) == (5, 2, 2)
    assert result.values == {"S!B1": 2, "S!B2": 4, "S!B3": 2, "S!B4": 6, "S!C1": 14}


def test_a_chain_takes_one_round_per_level_and_reuses_the_cache(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {"S": {
        "A1": 3, "B1": "=DOUBLE(A1)", "C1": "=DOUBLE(B1)+1", "D1": "=DOUBLE(C1)", "E1": "=DOUBLE(A1)"}})  # fmt: skip
    result, offload = run(book)
    assert offload.rounds == [[("DOUBLE", (3,))], [("DOUBLE", (6,))], [("DOUBLE", (13,))]]
    assert result.rounds == 4  # three levels, then the evaluation where every call is known
    assert (result.values["S!D1"], result.values["S!E1"]) == (26, 6)


def test_a_range_argument_arrives_as_rows_of_values(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {"S": {"A1": 1, "A2": 2, "B1": 3, "B2": 4, "C1": "=TOTAL(A1:B2)"}})
    result, offload = run(book)
    assert offload.rounds == [[("TOTAL", (((1, 3), (2, 4)),))]]  # one argument: two rows of two
    assert result.values["S!C1"] == 10


def test_a_udf_that_raises_is_an_error_cell_with_its_reason_and_its_dependents_show_it(
    tmp_path: Path,
) -> None:
    book = write_book(tmp_path / "b.xlsx", {"S": {
        "A1": 5, "B1": "=FAILS(A1)", "C1": "=DOUBLE(B1)", "D1": "=IFERROR(B1,-1)", "E1": "=DOUBLE(A1)"}})  # fmt: skip
    result, offload = run(book)
    assert result.values == {"S!B1": "#VALUE!", "S!C1": "#VALUE!", "S!D1": -1, "S!E1": 10}
    assert result.errors == {("FAILS", (5,)): "ZeroDivisionError: no price for 5"}
    assert ("DOUBLE", ("#VALUE!",)) not in {
        c for r in offload.rounds for c in r
    }  # an error argument calls nothing
    assert result.error_cells == ["S!B1", "S!C1"]


def test_the_written_book_holds_values_where_formulas_were(tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {"S": {"A1": 2, "B1": "=DOUBLE(A1)", "C1": "=FAILS(A1)"}})
    result, _ = run(book)
    result.write(tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx")["S"]
    assert (sheet["A1"].value, sheet["B1"].value, sheet["C1"].value) == (2, 4, "#VALUE!")


def test_chains_deeper_than_the_round_cap_are_refused_naming_the_option(tmp_path: Path) -> None:
    cells: dict[str, Any] = {"A1": 1, **{f"A{r}": f"=DOUBLE(A{r - 1})" for r in range(2, 8)}}
    book = write_book(tmp_path / "b.xlsx", {"S": cells})
    with pytest.raises(InvalidState, match="after 3 rounds.*--max-rounds"):
        run(book, max_rounds=3)
    assert run(book, max_rounds=7)[0].values["S!A7"] == 64


def test_functions_neither_the_engines_nor_udfs_and_links_to_other_books_are_refused(tmp_path: Path) -> None:
    book = write_book(
        tmp_path / "b.xlsx", {"S": {"A1": "=DOUBLE(1)", "B1": "=NOSUCH(1)", "C1": "=[1]Other!A1"}}
    )
    with pytest.raises(InvalidSpec) as refused:
        run(book)
    assert "NOSUCH in S!B1" in str(refused.value) and "other workbooks in S!C1" in str(refused.value)
    assert "DOUBLE" not in str(refused.value)


def test_the_decorator_names_udfs_as_cells_call_them() -> None:
    @udf
    def priceopt(x: float) -> float:
        return x

    @udf(name="norm.price")
    def other(x: float) -> float:
        return x

    module = type(pytest)("m")
    module.priceopt, module.other, module.plain = priceopt, other, double  # type: ignore[attr-defined]
    assert udfs_of(module) == {"PRICEOPT": priceopt, "NORM.PRICE": other}


def test_values_a_cell_cannot_hold_become_ones_it_can() -> None:
    assert call_udf(lambda: (1.5, 2), ()) == (1.5, None)  # an array: its first value, as Excel shows it
    assert call_udf(lambda: float("nan"), ()) == ("#NUM!", None)
    assert call_udf(lambda: {"a": 1}, ()) == ("{'a': 1}", None)
    assert call_udf(lambda: 1 / 0, ()) == ("#VALUE!", "ZeroDivisionError: division by zero")
