"""`hpcburst clusrun [--pool P] [--nodes a,b] [--all] -- CMD`: CMD once on each chosen Online node, each node's
output under its name with its exit code (HPC Pack's clusrun). Exit 0 only if every node's command exited 0."""

from __future__ import annotations

from typing import Annotated

import typer

from hpcburst.cli.common import console, friendly, scheduler
from hpcburst.client import command_line
from hpcburst.client.clusrun import NodeRun


@friendly
def clusrun(
    command: Annotated[
        list[str], typer.Argument(help="The command line (after --), run as is on each node.")
    ],
    pool: Annotated[str | None, typer.Option("--pool", help="The Online nodes of this pool.")] = None,
    nodes: Annotated[
        str | None, typer.Option("--nodes", help="These nodes (a,b,c): each must be Online.")
    ] = None,
    all_nodes: Annotated[bool, typer.Option("--all", help="Every Online node.")] = False,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop waiting after SECS.")] = None,
) -> None:
    """(admins) Run a command once on every chosen node, as a job of its own (listed, cancelable)."""
    names = [n.strip() for n in nodes.split(",") if n.strip()] if nodes else None
    with scheduler() as s:
        job = s.clusrun(command_line(command), nodes=names, pool=pool, all_nodes=all_nodes)
        console.print(f"clusrun job {job} (`hpcburst job cancel {job}` stops it)", highlight=False)
        try:
            s.wait(job, timeout=timeout)
        except KeyboardInterrupt:
            s.cancel_job(job)  # as HPC Pack's clusrun: Ctrl-C stops the command on every node
            raise
        runs = s.clusrun_results(job)
    for run in runs:
        _show(run)
    failed = [r.node for r in runs if not r.succeeded]
    console.print(f"{len(runs) - len(failed)} nodes succeeded, {len(failed)} failed"
                  + (f": {', '.join(failed)}" if failed else ""), highlight=False)  # fmt: skip
    if failed:
        raise typer.Exit(1)


def _show(run: NodeRun) -> None:
    outcome = f"returns {run.exit_code}" if run.exit_code is not None else run.state
    if run.message and not run.succeeded:
        outcome += f" ({run.message})"
    console.out(f"----- {run.node} {outcome} -----", highlight=False)
    for data in (run.stdout, run.stderr):
        if data:
            console.out(data.decode(errors="replace").rstrip("\n"), highlight=False)
