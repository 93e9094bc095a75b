"""`hpcburst excel sweep|collect`: workbook case sweeps (one sweep index per row of a cases table)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hpcburst.cli.common import console, friendly, scheduler
from hpcburst.errors import InvalidSpec

app = typer.Typer(no_args_is_help=True)
from hpcburst.cli import excel_calc as _calc  # noqa: E402, F401 - adds `calc` and `register-udfs` to app


def _missing_extra() -> None:
    try:
        import openpyxl  # noqa: F401
        import pycel  # noqa: F401
    except ImportError:
        raise InvalidSpec("spreadsheets need the excel extra: pip install 'hpcburst[excel]'") from None


@app.command()
@friendly
def sweep(
    book: Annotated[Path, typer.Argument(help="The workbook (.xlsx).")],
    cases: Annotated[
        Path,
        typer.Option(
            "--cases",
            help="CSV or .xlsx: a header row of input cells (Inputs!B2) or names, one row per case.",
        ),
    ],
    outputs: Annotated[
        str, typer.Option("--outputs", help='Cells and ranges to collect, e.g. "Out!C10,Out!D4:D8".')
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Merged results workbook (a .csv is written beside it). Default: BOOK-results.xlsx"
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the sweep and write the merged results.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Job name (default: excel BOOK).")] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="Run only on nodes of this pool.")] = None,
    python: Annotated[
        str, typer.Option("--python", help="The nodes' Python, with hpcburst and its excel extra installed.")
    ] = "python3",
    env: Annotated[
        list[str] | None, typer.Option("--env", help="K=V for every case's task (repeat).")
    ] = None,
    retries: Annotated[int, typer.Option("--retries", help="Re-runs of a failed case.")] = 0,
    execute: Annotated[
        str | None, typer.Option("--execute", help="MODULE:FUNCTION run on the nodes per case (HPC_Execute).")
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="Only check the book and cases; submit nothing.")
    ] = False,
) -> None:
    """Run a workbook once per case on the cluster and merge each case's outputs into one table."""
    _missing_extra()
    from hpcburst.cli.job import _env, _wait
    from hpcburst.cli.transfer_ui import blob_store_from_settings
    from hpcburst.excel.job import WorkbookJob

    job = WorkbookJob(book, cases, outputs, execute=execute, name=name, python=python, pool=pool,
                      environment=_env(env or []) or None, retries=retries or None)  # fmt: skip
    plan = job.plan()
    console.print(
        f"{book.name}: {len(plan.cases)} cases, {len(plan.inputs)} inputs, {len(plan.outputs)} outputs: checked"
    )
    if check_only:
        return
    store = blob_store_from_settings()
    with scheduler() as s:
        submitted = job.submit(s, store, plan)
        console.print(f"submitted job [bold]{submitted.job}[/bold] (one index per case)")
        if not wait:
            console.print(f"collect the results when it ends: hpcburst excel collect {submitted.job}")
            return
        view = _wait(s, submitted.job)
        _write(submitted.merged(s, store), out or book.with_name(f"{book.stem}-results.xlsx"), view)


@app.command()
@friendly
def collect(
    job: Annotated[str, typer.Argument(help="The sweep's job id.")],
    out: Annotated[
        Path, typer.Option("--out", help="Merged results workbook (a .csv is written beside it).")
    ] = Path("results.xlsx"),
) -> None:
    """Write the merged results of a case sweep submitted earlier (cases not calculated show #N/A)."""
    _missing_extra()
    from hpcburst.cli.transfer_ui import blob_store_from_settings
    from hpcburst.excel.job import SubmittedSweep

    store = blob_store_from_settings()
    with scheduler() as s:
        submitted = SubmittedSweep.of_job(s, store, job)
        _write(submitted.merged(s, store), out, s.view_job(job))


def _write(results: Any, out: Path, view: dict[str, Any]) -> None:
    results.write_xlsx(out)
    results.write_csv(out.with_suffix(".csv"))
    errors = sum(1 for row in results.rows for v in row if isinstance(v, str) and v.startswith("#"))
    console.print(f"job {view.get('id')} {view.get('state')}: {len(results.rows)} cases -> {out} and {out.with_suffix('.csv')}"
                  + (f" ({errors} cell errors)" if errors else ""))  # fmt: skip
    if view.get("state") != "Finished":
        raise typer.Exit(1)
