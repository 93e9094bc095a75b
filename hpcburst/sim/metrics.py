"""What a run measured: cost, queue-wait percentiles, node churn, cap overshoot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from hpcburst.sim.invariants import overshoot

if TYPE_CHECKING:
    from hpcburst.sim.engine import Simulation
    from hpcburst.sim.trace import TraceJob

IDLE_GAP = 60.0  # a pause between submits longer than this is an idle window


class SimResult(BaseModel):
    controller: str
    cost: float
    wait_p50: float
    wait_p95: float
    wait_p99: float
    creates: int
    deletes: int
    peak_nodes: int
    idle_windows: int
    cycles_per_node_per_idle_window: float | None  # None when the trace has no idle window
    overshoot: float
    makespan: float


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def idle_windows(jobs: list[TraceJob]) -> list[tuple[float, float]]:
    times = sorted({j.submit_time for j in jobs})
    return [(a, b) for a, b in zip(times, times[1:], strict=False) if b - a > IDLE_GAP]


def peak_nodes(sim: Simulation) -> int:
    events = sorted(
        [(n.created_at, 1) for n in sim.world.nodes.values()]
        + [(n.gone_at, -1) for n in sim.world.nodes.values() if n.gone_at is not None]
    )
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def result(sim: Simulation, jobs: list[TraceJob], cap_per_hour: float | None) -> SimResult:
    w = sim.world
    windows = idle_windows(jobs)
    peak = peak_nodes(sim)
    last_submit = max((j.submit_time for j in jobs), default=0.0)
    # a cycle: a node deleted while more work was still to come, so its capacity may be created again
    cycles = sum(1 for at, _, cause in w.deletes if cause == "idle" and at < last_submit)
    per_window = cycles / (max(1, peak) * len(windows)) if windows else None
    return SimResult(
        controller=sim.controller.name,
        cost=w.spend(0.0, w.ended_at),
        wait_p50=percentile(w.waits, 50),
        wait_p95=percentile(w.waits, 95),
        wait_p99=percentile(w.waits, 99),
        creates=len(w.nodes),
        deletes=sum(1 for n in w.nodes.values() if n.gone_cause not in ("", "end")),
        peak_nodes=peak,
        idle_windows=len(windows),
        cycles_per_node_per_idle_window=per_window,
        overshoot=overshoot(sim, cap_per_hour),
        makespan=w.all_done_at or w.ended_at,
    )
