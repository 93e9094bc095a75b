"""`hpcburst burst status|log|enable`: the burst controller at work; `burst simulate`: the real policy over a
trace, beside two baselines."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from hpcburst.cli.common import console, err_console, friendly, scheduler, table
from hpcburst.domain.burst import BurstPool
from hpcburst.plotting import MissingExtra, pyplot
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
    if png is not None:
        _check_plots()  # before the simulation runs, not after
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
        from hpcburst.sim.plot import timeline_png

        timeline_png(runs, "burst policy", cap_hour, png)
        console.print(f"timeline written to {png}")


def _check_plots() -> None:
    try:
        pyplot()  # matplotlib only when a picture is asked for
    except MissingExtra as e:
        err_console.print(f"[red]error:[/red] {escape(e.message)}", highlight=False)
        raise typer.Exit(2) from None


@app.command("status")
@friendly
def status() -> None:
    """Burstable pools (nodes by state, spend against the caps, disabled or backing off) and the last decision."""
    with scheduler() as s:
        body = s.burst_status()
    now = time.time()
    rows = [(p["name"], p["provisioner"], "spot" if p["spot"] else "regular", f"{p['min_nodes']}-{p['max_nodes']}",
             ", ".join([f"{k} {v}" for k, v in sorted(p["nodes"].items())] + [f"NotDeployed {p.get('not_deployed', 0)}"]),
             f"${p['rate_per_hour']:.2f}/h", _spend(p["spent_last_hour"], p.get("cost_cap_per_hour")),
             _spend(p["spent_last_month"], p.get("cost_cap_per_month")), _health(p, now))
            for p in body.get("pools", [])]  # fmt: skip
    if not rows:
        console.print("no burstable pool: `hpcburst pool create NAME --provisioner local|azure --max N`")
        return
    console.print(table(("pool", "provisioner", "vms", "nodes", "state", "rate", "last hour / cap",
                         "30 days / cap", "health"), rows))  # fmt: skip
    last = body.get("last")
    if last:
        console.print(f"last decision {_ago(now - last['at'])}: {last['reason']}")


@app.command("log")
@friendly
def log(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many decisions.")] = 20,
    since: Annotated[float | None, typer.Option("--since", help="Only the last SECONDS.")] = None,
) -> None:
    """The controller's decisions, oldest first: what it did and why."""
    with scheduler() as s:
        decisions = s.burst_log(limit=limit, since=None if since is None else time.time() - since)
    if not decisions:
        console.print("no decision recorded yet")
    for d in decisions:
        stamp = datetime.fromtimestamp(d["at"]).strftime("%Y-%m-%d %H:%M:%S")
        actions = ", ".join(_action(a) for a in d.get("actions", []))
        console.print(f"{stamp}  {d['reason']}" + (f"\n    → {actions}" if actions else ""), highlight=False)


@app.command("enable")
@friendly
def enable(pool: Annotated[str, typer.Argument(help="A pool disabled after boot failures.")]) -> None:
    """Re-enable a pool that repeated boot failures disabled (its failure history is cleared)."""
    with scheduler() as s:
        s.enable_pool(pool)
    console.print(f"pool {pool}: enabled")


def _spend(spent: float, cap: float | None) -> str:
    return f"${spent:.2f}" + ("" if cap is None else f" / ${cap:.2f}")


def _health(pool: dict[str, Any], now: float) -> str:
    if pool.get("disabled_reason"):
        return f"disabled: {pool['disabled_reason']}"
    if pool.get("backoff_until"):
        return f"backing off {pool['backoff_until'] - now:.0f} s ({pool.get('recent_failures', 0)} failures)"
    return "ok"


def _action(action: dict[str, Any]) -> str:
    kind = action.get("kind")
    if kind == "create":
        return f"create {', '.join(action.get('names', []))}"
    if kind in ("drain", "resume", "delete"):
        return f"{kind} {action.get('node')}"
    return f"{kind} {action.get('pool', '')}".strip()


def _ago(seconds: float) -> str:
    return f"{max(seconds, 0):.0f} s ago"
