"""A small pricing workbook and a cases table for `hpcburst excel sweep` (README, "Spreadsheets").

    python examples/excel/make_book.py OUT_DIR [--cases 20] [--rows 12]

writes OUT_DIR/pricing.xlsx and OUT_DIR/cases.csv. The book grows a notional month by month (``Calc``) at a
rate and with fees set on ``Inputs``; ``Out`` sums it up: C10 the final value, D4:D8 a few statistics, D8
the value per unit of ``Inputs!B6`` (so a case with 0 units shows ``#DIV/0!``). ``Rate`` is a defined name
for ``Inputs!B3``, so a cases table may say ``Rate`` instead of ``Inputs!B3``. ``--rows`` makes the book
bigger: each Calc row holds four formulas (``--rows 2500``: ~10,000 formulas, the benchmark's book).
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName

INPUTS = [("notional", 1000.0), ("rate", 0.05), ("periods per year", 12), ("fee", 2.5), ("units", 4)]


def make_book(path: Path, rows: int = 12) -> Path:
    book = Workbook()
    inputs = book.active
    assert inputs is not None
    inputs.title = "Inputs"
    for row, (label, value) in enumerate(INPUTS, start=2):
        inputs[f"A{row}"], inputs[f"B{row}"] = label, value
    book.defined_names["Rate"] = DefinedName("Rate", attr_text="Inputs!$B$3")
    calc = book.create_sheet("Calc")
    for r in range(1, rows + 1):
        before = f"A{r - 1}" if r > 1 else "Inputs!B2"
        calc[f"A{r}"] = f"={before}*(1+Rate/Inputs!$B$4)"
        calc[f"B{r}"] = f"=IF(A{r}>Inputs!$B$2*1.5,A{r}-Inputs!$B$5,A{r}+Inputs!$B$5/2)"
        calc[f"C{r}"] = f"=ROUND(B{r}*{r % 7 + 1}/3,4)"
        calc[f"D{r}"] = f"=MAX(C{r},A{r})-MIN(B{r},{r})"
    out = book.create_sheet("Out")
    out["C10"] = f"=Calc!A{rows}"
    out["D4"] = f"=SUM(Calc!D1:D{rows})"
    out["D5"] = f"=AVERAGE(Calc!B1:B{rows})"
    out["D6"] = f"=MAX(Calc!C1:C{rows})"
    out["D7"] = '=IF(Out!C10>Inputs!B2*2,"doubled","")'
    out["D8"] = "=Out!C10/Inputs!B6"
    book.save(path)
    return path


def make_cases(path: Path, count: int = 20, seed: int = 12) -> Path:
    draw = random.Random(seed)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Inputs!B2", "Rate", "Inputs!B5", "Inputs!B6"])
        for case in range(count):
            units = 0 if case == 3 else draw.randint(1, 9)  # case 3 divides by zero units: #DIV/0! in Out!D8
            writer.writerow([round(draw.uniform(500, 5000), 2), round(draw.uniform(0.01, 0.2), 4),
                             round(draw.uniform(0, 10), 2), units])  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    book = make_book(args.out_dir / "pricing.xlsx", args.rows)
    cases = make_cases(args.out_dir / "cases.csv", args.cases)
    print(f"{book} ({4 * args.rows + 6} formulas) and {cases} ({args.cases} cases)")


if __name__ == "__main__":
    main()
