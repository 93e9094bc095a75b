"""`hpcburst burst simulate`: run the real burst policy over a trace, beside two baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hpcburst.cli.common import console, err_console, table
from hpcburst.domain.burst import BurstPool
from hpcburst.sim.engine import SimConfig
from hpcburst.sim.metrics import SimResult
from hpcburst.sim.runner import compare
from hpcburst.sim.trace import load_trace, shipped_traces

app = typer.Typer(no_args_is_help=True)


def rows(results: list[SimResult]) -> list[tuple[object, ...]]:
    def cycles(r: SimResult) -> str:
        return (
            "-" if r.cycles_per_node_per_idle_window is None else f"{r.cycles_per_node_per_idle_window:.2f}"
        )

    return [
        (r.controller, f"${r.cost:.2f}", f"{r.wait_p50:.0f}", f"{r.wait_p95:.0f}", f"{r.wait_p99:.0f}",
         r.creates, r.deletes, r.peak_nodes, cycles(r), f"${r.overshoot:.2f}")
        for r in results
    ]  # fmt: skip


COLUMNS = ("controller", "cost", "p50 s", "p95 s", "p99 s", "creates", "deletes", "peak",
           "cycles/node/idle", "over cap")  # fmt: skip


@app.command("simulate")
def simulate(
    trace: Annotated[
        str, typer.Option("--trace", help=f"A CSV file, or one of: {', '.join(shipped_traces())}.")
    ],
    pool_max: Annotated[int, typer.Option("--pool-max", help="Most cloud nodes.")] = 10,
    slots: Annotated[int, typer.Option("--slots", help="Slots per cloud node.")] = 4,
    onprem: Annotated[int, typer.Option("--onprem-slots", help="On-premises slots.")] = 8,
    price: Annotated[float, typer.Option("--price", help="$ per node-hour.")] = 0.10,
    cap_hour: Annotated[float | None, typer.Option("--cap-hour", help="Cost cap, $ per hour.")] = 0.8,
    idle_timeout: Annotated[float, typer.Option("--idle-timeout", help="Seconds idle before a drain.")] = 300,
    boot_mean: Annotated[float, typer.Option("--boot-mean", help="Mean simulated boot time, s.")] = 120,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    png: Annotated[Path | None, typer.Option("--png", help="Write a timeline PNG here.")] = None,
) -> None:
    """Run `decide` on a simulated clock beside an Azure-Batch-style formula and an always-on pool."""
    try:
        jobs = load_trace(trace)
    except (OSError, KeyError, ValueError) as e:
        err_console.print(f"cannot read trace {trace!r}: {e}")
        raise typer.Exit(2) from e
    pool = BurstPool(name="cloud", max_nodes=pool_max, slots_per_node=slots, price_per_hour=price,
                     cost_cap_per_hour=cap_hour, idle_timeout=idle_timeout)  # fmt: skip
    config = SimConfig(pool=pool, onprem_slots=onprem, boot_mean=boot_mean, seed=seed)
    runs = compare(config, jobs)
    title = f"{trace}: {len(jobs)} jobs, {sum(j.indices for j in jobs)} indices, seed {seed}"
    console.print(table(COLUMNS, rows([r.result for r in runs.values()]), title=title))
    if png is not None:
        from hpcburst.sim.plot import timeline_png  # matplotlib only when a picture is asked for

        timeline_png(runs, "burst policy", cap_hour, png)
        console.print(f"timeline written to {png}")
