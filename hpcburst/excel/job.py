"""``WorkbookJob``: HPC Services for Excel's workbook offload, as a parametric sweep with one index per case.

    job = WorkbookJob("pricing.xlsx", "cases.csv", outputs="Out!C10,Out!D4:D8")
    results = job.run(scheduler, store)          # check, stage, submit, wait, merge
    results.write_xlsx(Path("results.xlsx"))

The hooks mirror the macros: ``partition(table)`` (HPC_Partition) gives the cases' rows, in the table's
columns (default: the table's rows); ``execute`` (HPC_Execute) is ``"module:function"``, importable on the
nodes, called as ``function(book, plan, index) -> {cell: value}`` instead of setting inputs and reading
outputs; ``merge(plan, results)`` (HPC_Merge and HPC_Finalize) gets every case's ``CaseResult`` (None for a
case that has none) in case order and returns what ``run`` returns (default: ``SweepResults``).

The book and the plan go to ``hpc-data/excel/<sweep>/`` through the ordinary upload; each index's result
comes back through the task's output staging to ``hpc-output/excel/<sweep>/case-NNNNNN.json``.
"""

from __future__ import annotations

import hashlib
import shlex
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hpcburst import constants as c
from hpcburst.client import Scheduler
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.excel.addresses import output_cells
from hpcburst.excel.cases import CaseTable, input_cells, read_cases
from hpcburst.excel.check import check_book
from hpcburst.excel.engine import Book, Value
from hpcburst.excel.plan import BOOK_FILE, PLAN_FILE, RESULT_PATTERN, CaseResult, SweepPlan, result_name
from hpcburst.excel.results import SweepResults, merge
from hpcburst.storage.blob.port import BlobStore

Partition = Callable[[CaseTable], Iterable[Sequence[Value]]]
Merge = Callable[[SweepPlan, list[CaseResult | None]], Any]
PREFIX = "excel"  # hpc-data/excel/<sweep>/ and hpc-output/excel/<sweep>/
_JOB_FIELDS = ("pool", "priority", "never_burst", "template", "owner", "runtime")  # the rest are the task's


class WorkbookJob:
    def __init__(
        self,
        book: Path | str,
        cases: Path | str | CaseTable,
        outputs: str | Sequence[str],
        *,
        partition: Partition | None = None,
        execute: str | None = None,
        merge: Merge | None = None,
        name: str | None = None,
        python: str = "python3",
        **job: Any,
    ) -> None:
        """``python``: the nodes' interpreter with ``hpcburst[excel]``; ``job``: the job's other fields
        (pool, priority, environment, retries, max_running, ...) as ``Scheduler.create_job/create_task``."""
        self.book = Path(book)
        self.cases = cases
        self.outputs = outputs
        self.partition, self.execute, self.merge = partition, execute, merge
        self.name = name or f"excel {self.book.stem}"
        self.python = python
        self.job = job

    def plan(self) -> SweepPlan:
        """The checked plan: InvalidSpec (naming cells and functions) for a book the nodes could not calculate."""
        if not self.book.is_file():
            raise InvalidSpec(f"{self.book}: no such workbook", field="book")
        table = self.cases if isinstance(self.cases, CaseTable) else read_cases(Path(self.cases))
        outputs = output_cells(self.outputs)
        formulas = check_book(self.book, [*outputs, *(h for h in table.headers if "!" in h)])
        inputs = input_cells(table.headers, formulas)
        rows = [list(r) for r in (self.partition(table) if self.partition else table.rows)]
        if not rows:
            raise InvalidSpec("the partition gave no cases", field="cases")
        if any(len(r) != len(inputs) for r in rows):
            raise InvalidSpec(f"every case needs {len(inputs)} values, one per input column", field="cases")
        cases = [CaseTable(table.headers, rows).overrides(i, inputs) for i in range(len(rows))]
        sha = hashlib.sha256(self.book.read_bytes()).hexdigest()
        return SweepPlan(sha, inputs, outputs, cases, table.headers, rows)

    def calculate_locally(self, plan: SweepPlan | None = None) -> list[CaseResult]:
        """Every case, serially, in this process (the baseline a sweep's results are compared with)."""
        plan = plan or self.plan()
        from hpcburst.excel.runner import calculate, load_hook

        execute = load_hook(self.execute) if self.execute else calculate
        book = Book.load(self.book)
        book.prepare([*plan.outputs, *plan.inputs])
        return [CaseResult(i, execute(book, plan, i), "local") for i in range(len(plan.cases))]

    def submit(self, scheduler: Scheduler, store: BlobStore, plan: SweepPlan | None = None) -> SubmittedSweep:
        """Stage the book and the plan, then submit one sweep index per case."""
        plan = plan or self.plan()
        sweep = uuid.uuid4().hex[:12]
        store.ensure_container(c.BLOB_DATA)
        store.put(c.BLOB_DATA, f"{PREFIX}/{sweep}/{BOOK_FILE}", self.book.read_bytes())
        store.put(c.BLOB_DATA, f"{PREFIX}/{sweep}/{PLAN_FILE}", plan.to_json().encode())
        command = f"{shlex.quote(self.python)} -m hpcburst.excel.runner *"
        if self.execute:
            command += f" --execute {shlex.quote(self.execute)}"
        job_fields = {k: v for k, v in self.job.items() if k in _JOB_FIELDS}
        task_fields = {k: v for k, v in self.job.items() if k not in _JOB_FIELDS}
        draft = scheduler.create_job(name=self.name, shared_workdir=True, **job_fields)
        draft.add_task(
            scheduler.create_task(
                command,
                sweep=(0, len(plan.cases) - 1),
                input_files=[{"blob": f"{c.BLOB_DATA}/{PREFIX}/{sweep}/{name}", "path": name}
                             for name in (BOOK_FILE, PLAN_FILE)],
                output_files=[{"pattern": RESULT_PATTERN, "blob": f"{c.BLOB_OUTPUT}/{PREFIX}/{sweep}/{RESULT_PATTERN}"}],
                **task_fields,
            )
        )  # fmt: skip
        return SubmittedSweep(scheduler.submit_job(draft), sweep, plan, self.merge or merge)

    def run(self, scheduler: Scheduler, store: BlobStore, timeout: float | None = None) -> Any:
        """Submit, wait, and merge (the ``merge`` hook's answer; by default ``SweepResults``)."""
        submitted = self.submit(scheduler, store)
        scheduler.wait(submitted.job, timeout=timeout)
        return submitted.merged(scheduler, store)


class SubmittedSweep:
    def __init__(self, job: str, sweep: str, plan: SweepPlan, merge_hook: Merge = merge) -> None:
        self.job, self.sweep, self.plan, self._merge = job, sweep, plan, merge_hook

    @classmethod
    def of_job(cls, scheduler: Scheduler, store: BlobStore, job: str) -> SubmittedSweep:
        """A sweep submitted earlier (``hpcburst excel sweep`` without --wait), found from its job."""
        view = scheduler.view_job(job)
        for task in view.get("tasks", []):
            for staged in task.get("input_files") or []:
                container, _, path = str(staged.get("blob", "")).partition("/")
                parts = path.split("/")
                if (
                    container == c.BLOB_DATA
                    and len(parts) == 3
                    and parts[0] == PREFIX
                    and parts[2] == PLAN_FILE
                ):
                    plan = SweepPlan.from_json(store.get(container, path).decode())
                    return cls(job, parts[1], plan)
        raise InvalidSpec(f"job {job} is not a workbook case sweep (hpcburst excel sweep)", field="job")

    def results(self, scheduler: Scheduler, store: BlobStore) -> list[CaseResult | None]:
        """Each case's result, in case order (None: no result; why is taken from the index's stderr)."""

        def fetch(index: int) -> CaseResult | None:
            try:
                return CaseResult.from_json(
                    store.get(c.BLOB_OUTPUT, f"{PREFIX}/{self.sweep}/{result_name(index)}")
                )
            except NotFound:
                return CaseResult(index, {}, error=_why_failed(scheduler, self.job, index))

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(fetch, range(len(self.plan.cases))))

    def merged(self, scheduler: Scheduler, store: BlobStore) -> Any:
        return self._merge(self.plan, self.results(scheduler, store))


def _why_failed(scheduler: Scheduler, job: str, index: int) -> str:
    try:
        view = scheduler.view_task(job, index)
        tail = scheduler.task_output(job, index, "stderr").decode("utf-8", "replace").strip().splitlines()
    except NotFound:
        return f"case {index} was not calculated"
    last = tail[-1] if tail else ""
    return f"case {index} was not calculated ({view.get('state')}{': ' + last if last else ''})"


__all__ = ["SubmittedSweep", "SweepResults", "WorkbookJob"]
