"""The PNG timeline of a run: backlog, nodes by state, and cumulative spend against the hourly cap (needs the
optional ``hpcburst[plots]`` extra, see ``hpcburst.plotting``)."""

from __future__ import annotations

from pathlib import Path

from hpcburst.plotting import pyplot
from hpcburst.sim.runner import Run

STATES = ["Provisioning", "Online", "Draining"]


def timeline_png(runs: dict[str, Run], policy: str, cap_per_hour: float | None, path: Path) -> None:
    plt = pyplot()  # matplotlib is the optional [plots] extra: MissingExtra says so
    run = runs[policy]
    minutes = [s.at / 60 for s in run.timeline]
    fig, (backlog, nodes, spend) = plt.subplots(3, 1, sharex=True, figsize=(10, 8))
    backlog.plot(minutes, [s.backlog for s in run.timeline], color="tab:red")
    backlog.set_ylabel("queued indices")
    backlog.set_title(f"{policy}: backlog, nodes by state, spend")
    nodes.stackplot(
        minutes, *[[s.nodes.get(state, 0) for s in run.timeline] for state in STATES], labels=STATES
    )
    nodes.set_ylabel("cloud nodes")
    nodes.legend(loc="upper right")
    for name, other in runs.items():
        spend.plot([s.at / 60 for s in other.timeline], [s.spend for s in other.timeline], label=name)
    if cap_per_hour is not None:
        spend.plot(minutes, [cap_per_hour * m / 60 for m in minutes], "k--", label="hourly cap, cumulative")
    spend.set_ylabel("spend ($)")
    spend.set_xlabel("simulated minutes")
    spend.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
