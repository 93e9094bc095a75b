"""UDF offload on a local cluster, beside the same book with its UDFs run in this process (issue 12).

    python bench/excel_udf.py                        # 100,000 cells calling a 10 ms pure UDF, 2 agents x 2 slots
    python bench/excel_udf.py --cells 2000           # smaller (the local baseline alone takes cells x 10 ms)

The UDF is ``SLOWSQUARE`` of examples/excel/udfs.py: x squared after sleeping 10 ms, a stand-in for 10 ms of a
node's own CPU (on this 2-core machine real CPU work would cap any speed-up at 2). Prints both wall times
(recalculation start to every value), the seconds parsing vs calculating vs waiting for UDF calls on each
side, and whether the values are equal, cell for cell.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from hpcburst import soa  # noqa: E402
from hpcburst.client.local_cluster import LocalCluster  # noqa: E402
from hpcburst.excel.udf_calc import Calculated, calculate, local_offload  # noqa: E402
from hpcburst.excel.udf_deploy import UdfModule, deploy  # noqa: E402
from hpcburst.excel.udf_session import SessionOffload  # noqa: E402
from hpcburst.storage.blob.azure import AzureBlobStore  # noqa: E402

UDFS = ROOT / "examples" / "excel" / "udfs.py"


def make_book(path: Path, cells: int, seconds: float) -> Path:
    """``Calls!B{r} = SLOWSQUARE(A{r}, $D$1)`` for every row, each with its own argument, and a total."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Calls"
    sheet["D1"] = seconds
    for r in range(1, cells + 1):
        sheet[f"A{r}"], sheet[f"B{r}"] = r, f"=SLOWSQUARE(A{r},$D$1)"
    sheet["D2"] = f"=SUM(B1:B{cells})"
    book.save(path)
    return path


def line(name: str, result: Calculated, wall: float) -> str:
    s = result.seconds
    return (f"| {name} | {wall:.1f} s | {s['parse']:.1f} s | {s['calculate']:.1f} s | {s['offload']:.1f} s "
            f"| {result.rounds} | {result.distinct_calls:,} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=0.01, help="What one UDF call takes.")
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    module = UdfModule.find(str(UDFS))
    udfs = module.load()
    with tempfile.TemporaryDirectory(prefix="hpcburst-udf-bench-") as name:
        tmp = Path(name)
        tmp.chmod(0o711)
        book = make_book(tmp / "calls.xlsx", args.cells, args.seconds)
        print(f"book: {args.cells:,} cells calling a {args.seconds * 1000:.0f} ms UDF; "
              f"{args.agents} agents x {args.slots} slots")  # fmt: skip

        began = time.perf_counter()
        here = calculate(book, udfs, local_offload(udfs))
        local_wall = time.perf_counter() - began

        cluster = LocalCluster(tmp / "cluster")
        cluster.start(agents=args.agents, slots=args.slots)
        try:
            assert cluster.state is not None
            store = AzureBlobStore.from_connection_string(cluster.state.connection)
            with soa.connect(cluster.url, token=cluster.admin_token) as client:
                service = deploy(client, store, module, "-")
                began = time.perf_counter()
                with SessionOffload(client, service, module.name, args.batch) as offload:
                    remote = calculate(book, udfs, offload)
                wall = time.perf_counter() - began
        finally:
            cluster.stop()
    print()
    print("| run | wall time | parsing | calculating | UDF calls | rounds | distinct calls |")
    print("|---|---|---|---|---|---|---|")
    print(line(f"UDF offload ({args.agents * args.slots} hosts)", remote, wall))
    print(line("baseline: the same book, UDFs in this process", here, local_wall))
    print(f"\nvalues equal, cell for cell: {'yes' if remote.values == here.values else 'NO'}")


if __name__ == "__main__":
    main()
