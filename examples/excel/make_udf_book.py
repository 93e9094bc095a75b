"""A workbook whose cells call the UDFs of examples/excel/udfs.py (README, "UDF offload").

    python examples/excel/make_udf_book.py OUT.xlsx [--rows 50]

Sheet ``Options``: one option per row (spot, strike, vol in A:C), its price ``=PRICEOPT(A2,B2,C2)`` in D, the
price per unit of spot ``=HEDGE.RATIO(D2,A2)`` in E (a chain: E waits for D), and a total in G1. Every tenth
row repeats an earlier one, so some calls are the same ``(function, arguments)`` and run once; row 7 has a
zero volatility, so its price is an error cell (#VALUE!) and so is everything built on it.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from openpyxl import Workbook


def make_udf_book(path: Path, rows: int = 50, seed: int = 12) -> Path:
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Options"
    sheet.append(["spot", "strike", "vol", "price", "per unit of spot"])
    options: list[tuple[float, float, float]] = []
    for r in range(2, rows + 2):
        option = (
            options[r % 7]
            if r % 10 == 0 and len(options) > 7
            else (
                round(rng.uniform(80, 120), 2),
                float(rng.choice([90, 100, 110])),
                round(rng.uniform(0.1, 0.4), 3),
            )
        )
        if r == 7:
            option = (100.0, 100.0, 0.0)
        options.append(option)
        sheet.append([*option, f"=PRICEOPT(A{r},B{r},C{r})", f"=HEDGE.RATIO(D{r},A{r})"])
    sheet["G1"] = f'=SUMIF(D2:D{rows + 1},"<1E300")'
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()
    print(make_udf_book(args.out, args.rows))
