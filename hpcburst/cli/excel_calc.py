"""`hpcburst excel calc|register-udfs`: recalculate a book whose cells call Python UDFs, the calls on the cluster.

Added to ``hpcburst excel`` (``hpcburst/cli/excel.py`` imports this module once its ``app`` exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hpcburst.cli.common import console, err_console, friendly
from hpcburst.cli.excel import app  # only app: this module is imported as soon as it exists

SHOWN_ERRORS = 5  # UDF failures printed; the rest are counted

Udfs = Annotated[str, typer.Option("--udfs", help="The UDF module: a .py file, a package directory or a module name.")]  # fmt: skip


@app.command()
@friendly
def calc(
    book: Annotated[Path, typer.Argument(help="The workbook (.xlsx).")],
    udfs: Udfs,
    out: Annotated[Path | None, typer.Option("--out", help="The calculated book. Default: BOOK-calculated.xlsx")] = None,
    local: Annotated[bool, typer.Option("--local", help="Run the UDFs in this process (the baseline), not on the cluster.")] = False,
    batch: Annotated[int, typer.Option("--batch", help="UDF calls per request batch to the cluster.")] = 256,
    max_units: Annotated[int | None, typer.Option("--max-units", help="At most this many service hosts.")] = None,
    max_rounds: Annotated[int, typer.Option("--max-rounds", help="Evaluations of the book (UDF chain levels + 1).")] = 20,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds a round of UDF calls may take.")] = None,
) -> None:  # fmt: skip
    """Recalculate BOOK: distinct UDF calls go to the cluster as one SOA session, in batches, one round per
    level of UDFs feeding UDFs; formula cells of the --out book hold the values."""
    from hpcburst.cli.excel import _missing_extra

    _missing_extra()
    from hpcburst.excel.udf_calc import Recalculation, local_offload
    from hpcburst.excel.udf_deploy import UdfModule

    module = UdfModule.find(udfs)
    functions = module.load()
    recalculation = Recalculation(book, functions)  # refused here, before any session
    target = out or book.with_name(f"{book.stem}-calculated.xlsx")

    def progress(round_: int, calls: int) -> None:
        console.print(f"round {round_}: {calls:,} distinct UDF calls {'here' if local else 'on the cluster'}")

    if local:
        result = recalculation.run(local_offload(functions), max_rounds, progress)
    else:
        from hpcburst.cli.transfer_ui import blob_store_from_settings
        from hpcburst.excel.udf_deploy import deploy
        from hpcburst.excel.udf_session import SessionOffload
        from hpcburst.soa import connect

        with connect() as client:
            service = deploy(
                client, blob_store_from_settings(), module, f"hpcburst excel register-udfs {udfs}"
            )
            with SessionOffload(client, service, module.name, batch, max_units, timeout) as offload:
                result = recalculation.run(offload, max_rounds, progress)
    result.write(target)
    s = result.seconds
    console.print(f"{book.name}: {len(result.values):,} formulas, {result.udf_calls:,} UDF calls "
                  f"({result.distinct_calls:,} distinct), {result.rounds} rounds -> {target}\n"
                  f"seconds: parsing {s['parse']:.2f}, calculating {s['calculate']:.2f}, "
                  f"UDF calls {s['offload']:.2f}", highlight=False, soft_wrap=True)  # fmt: skip
    for (name, args), reason in list(result.errors.items())[:SHOWN_ERRORS]:
        err_console.print(
            f"#VALUE! from {name}{args!r}: {reason}", highlight=False, markup=False, soft_wrap=True
        )
    if len(result.errors) > SHOWN_ERRORS:
        err_console.print(f"... and {len(result.errors) - SHOWN_ERRORS} more failing UDF calls")
    if result.error_cells:
        shown = ", ".join(result.error_cells[:SHOWN_ERRORS])
        more = len(result.error_cells) - SHOWN_ERRORS
        console.print(f"{len(result.error_cells)} error cells: {shown}" + (f" (and {more} more)" if more > 0 else ""),
                      highlight=False)  # fmt: skip


@app.command("register-udfs")
@friendly
def register_udfs(udfs: Annotated[str, typer.Argument(help="The UDF module: a .py file, a package directory or a module name.")]) -> None:  # fmt: skip
    """(admins) Package UDFS and register it as a service, so any user can `excel calc` with it."""
    from hpcburst.cli.transfer_ui import blob_store_from_settings
    from hpcburst.excel.udf_deploy import UdfModule, deploy
    from hpcburst.soa import connect

    module = UdfModule.find(udfs)
    names = sorted(module.load())
    with connect() as client:
        service = deploy(client, blob_store_from_settings(), module, f"hpcburst excel register-udfs {udfs}")
    console.print(
        f"{module.name} ({', '.join(names)}) runs on the cluster as service {service}", highlight=False
    )
