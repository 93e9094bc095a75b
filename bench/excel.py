"""Workbook case sweep on a local cluster, beside a serial local run of the same cases (issue 12).

    python bench/excel.py                          # 1,000 cases of a generated ~10,000-formula book
    python bench/excel.py --cases 100 --rows 500   # smaller

Prints the case sweep's wall time (submit to merged results) beside the local serial run's (parse once, then
every case in one process), the seconds spent parsing vs calculating on each side, the parses per node (the
goal: one), and whether the merged results equal the serial ones cell for cell.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples" / "excel")]

from make_book import make_book, make_cases  # noqa: E402

from hpcburst.client import Scheduler  # noqa: E402
from hpcburst.client.local_cluster import LocalCluster  # noqa: E402
from hpcburst.errors import NotFound  # noqa: E402
from hpcburst.excel.engine import Book  # noqa: E402
from hpcburst.excel.job import WorkbookJob  # noqa: E402
from hpcburst.excel.plan import CaseResult  # noqa: E402
from hpcburst.excel.results import merge  # noqa: E402
from hpcburst.storage.blob.azure import AzureBlobStore  # noqa: E402

OUTPUTS = "Out!C10,Out!D4:D8"
_PARSED = re.compile(r"parsed book\.xlsx .* in ([\d.]+) s")
_REUSED = re.compile(r"compiled form reused from the node cache \(([\d.]+) s\)")
_FELL_BACK = "calculating here"  # an index its node's server could not serve (runner.py)


def task_python(tmp: Path) -> tuple[str, dict[str, str]]:
    """Agents running as root run tasks as an unprivileged account, which cannot reach this venv (under /root):
    the tasks get the system's python3 with a copy of this venv's packages and the source, as a node would."""
    if os.geteuid() != 0:
        return sys.executable, {}
    shipped = tmp / "task-python"
    shutil.copytree(sysconfig.get_paths()["purelib"], shipped / "site", symlinks=True)
    shutil.copytree(
        ROOT / "hpcburst", shipped / "src" / "hpcburst", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(["chmod", "-R", "a+rX", str(shipped)], check=True)
    return "/usr/bin/python3", {
        "PYTHONPATH": f"{shipped / 'src'}:{shipped / 'site'}",
        "PYTHONNOUSERSITE": "1",
    }


def stderr_of(scheduler: Scheduler, job: str, index: int) -> str:
    try:
        return scheduler.task_output(job, index, "stderr").decode()
    except NotFound:  # it wrote nothing
        return ""


def serial(job: WorkbookJob) -> tuple[list[CaseResult], float, float, float]:
    """(results, wall seconds, parsing seconds, calculating seconds) of every case in this process."""
    began = time.perf_counter()
    plan = job.plan()
    book = Book.load(job.book)
    book.prepare([*plan.outputs, *plan.inputs])
    parsed = time.perf_counter()
    results = [
        CaseResult(i, book.calculate(case, plan.outputs), "local") for i, case in enumerate(plan.cases)
    ]
    done = time.perf_counter()
    return results, done - began, parsed - began, done - parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=2500, help="Calc rows; 4 formulas each (2,500: ~10,000)")
    parser.add_argument("--agents", type=int, default=2)
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpcburst-excel-bench-") as name:
        tmp = Path(name)
        tmp.chmod(0o711)
        book, cases = make_book(tmp / "book.xlsx", args.rows), make_cases(tmp / "cases.csv", args.cases)
        print(
            f"book: {4 * args.rows + 6} formulas; {args.cases} cases; {args.agents} agents x {args.slots} slots"
        )
        python, env = task_python(tmp)
        job = WorkbookJob(book, cases, OUTPUTS, python=python, environment=env or None)

        local, local_wall, local_parse, local_calc = serial(job)
        print(
            f"local serial: {local_wall:.1f} s ({local_parse:.1f} s parsing, {local_calc:.1f} s calculating)"
        )

        cluster = LocalCluster(tmp / "cluster")
        cluster.start(agents=args.agents, slots=args.slots)
        try:
            assert cluster.state is not None
            store = AzureBlobStore.from_connection_string(cluster.state.connection)
            with Scheduler(cluster.url, token=cluster.admin_token, timeout=60) as s:
                began = time.perf_counter()
                submitted = job.submit(s, store)
                view = s.wait(submitted.job)
                results = submitted.results(s, store)
                swept = merge(submitted.plan, results)
                wall = time.perf_counter() - began
                logs = [s.task_output(submitted.job, i).decode() for i in range(args.cases)]
                errs = [stderr_of(s, submitted.job, i) for i in range(args.cases)]
        finally:
            cluster.stop()
    parses: dict[str, list[float]] = {}
    for result, log in zip(results, logs, strict=True):
        node = result.node if result else "?"
        parses.setdefault(node, []).extend(float(x) for x in _PARSED.findall(log))
    calc = sum(r.seconds for r in results if r)
    loads = [float(x) for log in logs for x in _REUSED.findall(log)]
    fell_back = sum(_FELL_BACK in e for e in errs)
    same = swept.rows == merge(submitted.plan, local).rows
    print(f"job {submitted.job} {view['state']}")
    print()
    print("| figure | case sweep | baseline: local serial |")
    print("|---|---|---|")
    print(f"| wall time, {args.cases} cases | {wall:.1f} s | {local_wall:.1f} s |")
    print(
        f"| seconds parsing | {sum(sum(p) for p in parses.values()):.1f} s ({len(parses)} nodes) | {local_parse:.1f} s |"
    )
    print(
        f"| seconds loading the compiled form (node cache, summed) | {sum(loads):.1f} s ({len(loads)} loads) | - |"
    )
    print(
        f"| seconds calculating (summed over cases, in each node's calculation server) "
        f"| {calc:.1f} s | {local_calc:.1f} s |"
    )
    print(f"| indices calculated in-process (their node's server failed) | {fell_back} | - |")
    print(f"| parses per node | {', '.join(f'{n}: {len(p)}' for n, p in sorted(parses.items()))} | 1 |")
    print(f"| merged results equal the serial run, cell for cell | {'yes' if same else 'NO'} | |")


if __name__ == "__main__":
    main()
