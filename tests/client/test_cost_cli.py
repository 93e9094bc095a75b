"""`hpcburst cost`: durations as people write them, and a table that ends with its total."""

from __future__ import annotations

import pytest
import typer

from hpcburst.cli.cost import rows, seconds
from hpcburst.domain.cost import CostBy


@pytest.mark.parametrize(("text", "expected"), [("90", 90), ("45s", 45), ("30m", 1800), ("1h", 3600),
                                                ("2d", 172800), ("1.5h", 5400), ("1w", 604800)])  # fmt: skip
def test_since_takes_seconds_or_a_number_with_a_unit(text: str, expected: float) -> None:
    assert seconds(text) == expected


@pytest.mark.parametrize("text", ["", "h", "1y", "-1h", "yesterday"])
def test_since_refuses_anything_else_naming_the_option(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="not a duration"):
        seconds(text)


def test_the_table_by_pool_totals_spend_used_and_idle() -> None:
    answer = {"total": 3.0, "rows": [{"name": "a", "cost": 2.0, "used": 1.5, "idle": 0.5},
                                     {"name": "b", "cost": 1.0, "used": 0.25, "idle": 0.75}]}  # fmt: skip
    assert rows(CostBy.POOL, answer)[-1] == ("total", "$3.0000", "$1.7500", "$1.2500")


def test_the_table_by_job_names_each_owner_then_the_total() -> None:
    answer = {"total": 0.5, "rows": [{"name": "12", "owner": "ana", "cost": 0.5}]}
    assert rows(CostBy.JOB, answer) == [("12", "ana", "$0.5000"), ("total", "", "$0.5000")]
