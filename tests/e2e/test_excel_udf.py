"""UDF offload end to end (issue 12): `hpcburst excel calc` sends a book's UDF calls to the local cluster as one
SOA session, and the calculated book equals the same book calculated with the UDFs in the client's process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster

CLI = str(Path(sys.executable).parent / "hpcburst")
ROWS = 150
UDFS = """
import math
import hpcburst.excel

@hpcburst.excel.udf
def price(spot, vol):
    if vol <= 0:
        raise ValueError(f"vol must be positive, got {vol}")
    return spot * vol * math.sqrt(2 / math.pi)

@hpcburst.excel.udf(name="PER.UNIT")
def per_unit(value, spot):
    return value / spot
"""


def make_book(path: Path) -> Path:
    """A row per option: spot, vol, =PRICE(A,B), =PER.UNIT(C,A) (a chain), and row 5 a zero vol (an error)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Options"
    for r in range(1, ROWS + 1):
        vol = 0 if r == 5 else 0.1 + (r % 13) / 100
        sheet.append([100 + r % 40, vol, f"=PRICE(A{r},B{r})", f"=PER.UNIT(C{r},A{r})", f"=C{r}*2"])
    sheet["G1"] = f'=SUMIF(C1:C{ROWS},"<1E300")'
    book.save(path)
    return path


def values(path: Path) -> dict[str, Any]:
    sheet = load_workbook(path)["Options"]
    return {cell.coordinate: cell.value for row in sheet.iter_rows() for cell in row}


def calc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "excel", "calc", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def work(cluster: LocalCluster) -> Path:
    path = cluster.data_dir / "excel-udf"
    path.mkdir(exist_ok=True)
    (path / "option_udfs.py").write_text(UDFS)
    make_book(path / "options.xlsx")
    return path


@pytest.fixture(scope="module")
def both(cluster: LocalCluster, work: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """The book calculated on the cluster (as the admin, who registers the UDFs) and locally."""
    book, udfs = str(work / "options.xlsx"), str(work / "option_udfs.py")
    as_admin = {**cluster.env(), "HPCBURST_TOKEN": cluster.admin_token}
    return {
        "cluster": calc(as_admin, book, "--udfs", udfs, "--out", str(work / "cluster.xlsx")),
        "local": calc(cluster.env(), book, "--udfs", udfs, "--local", "--out", str(work / "local.xlsx")),
    }


def test_a_book_calculated_on_the_cluster_equals_the_local_calculation(
    work: Path, both: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    assert both["cluster"].returncode == 0, both["cluster"].stderr
    assert both["local"].returncode == 0, both["local"].stderr
    on_cluster, here = values(work / "cluster.xlsx"), values(work / "local.xlsx")
    assert on_cluster == here
    assert on_cluster["C2"] == pytest.approx(102 * 0.12 * (2 / 3.141592653589793) ** 0.5)
    assert "on the cluster" in both["cluster"].stdout


def test_a_chain_takes_one_round_per_level(
    work: Path, both: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    out = both["cluster"].stdout
    assert "3 rounds" in out  # PRICE, then PER.UNIT of its value, then the evaluation with every value known
    assert f"round 1: {ROWS} distinct" in out and f"round 2: {ROWS - 1} distinct" in out  # row 5 fed no call
    cells = values(work / "cluster.xlsx")
    assert cells["D2"] == pytest.approx(cells["C2"] / cells["A2"])


def test_a_udf_that_raises_is_an_error_cell_with_its_reason(
    work: Path, both: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    cells = values(work / "cluster.xlsx")
    assert (cells["C5"], cells["D5"], cells["E5"]) == ("#VALUE!", "#VALUE!", "#VALUE!")
    assert isinstance(cells["G1"], float)  # SUMIF skips the error, as in Excel
    assert "ValueError: vol must be positive, got 0" in both["cluster"].stderr
    assert "Traceback" not in both["cluster"].stderr


def test_a_user_may_calculate_with_registered_udfs_but_not_register_new_ones(
    cluster: LocalCluster, scheduler: Scheduler, work: Path, both: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    token = scheduler.access.add_user(f"analyst{os.getpid()}")["token"]
    as_user = {**cluster.env(), "HPCBURST_TOKEN": token}
    registered = calc(as_user, str(work / "options.xlsx"), "--udfs", str(work / "option_udfs.py"),
                      "--out", str(work / "user.xlsx"))  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    assert values(work / "user.xlsx") == values(work / "local.xlsx")
    (work / "new_udfs.py").write_text(UDFS + "\n# changed: another package, not registered\n")
    refused = calc(as_user, str(work / "options.xlsx"), "--udfs", str(work / "new_udfs.py"))
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert "takes an admin" in said and "hpcburst excel register-udfs" in said and "Traceback" not in said
