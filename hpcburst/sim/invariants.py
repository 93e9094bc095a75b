"""Invariants the simulator checks after every event; a violation raises ``InvariantViolation``.

For every controller: every index is finished, queued or running; no never-burst index runs on a cloud
node. For the real policy also: spend within every cap, no node left Provisioning past its boot timeout,
no scale-down delete sooner than delay-after-add.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpcburst.domain.burst import NodeState
from hpcburst.errors import HpcBurstError
from hpcburst.sim.world import ONPREM

if TYPE_CHECKING:
    from hpcburst.sim.engine import Simulation

HOUR = 3600.0
EPSILON = 1e-9


class InvariantViolation(HpcBurstError):
    """The simulated system reached a state the burst policy promises never to reach."""


def check(sim: Simulation) -> None:
    _indices_accounted_for(sim)
    _never_burst_on_premises(sim)
    if sim.controller.checks_policy_invariants:
        _no_overdue_boot(sim)
        _no_early_delete(sim)
        _within_caps(sim)


def _indices_accounted_for(sim: Simulation) -> None:
    for i, job in enumerate(sim.world.jobs):
        total = job.queued + job.running + job.finished
        if total != (job.indices if job.submitted else 0) or min(job.queued, job.running) < 0:
            raise InvariantViolation(
                f"t={sim.now:.0f}: job {i} has {total} of {job.indices} indices accounted for"
            )


def _never_burst_on_premises(sim: Simulation) -> None:
    for task in sim.world.tasks.values():
        if task.place != ONPREM and sim.world.jobs[task.job].never_burst:
            raise InvariantViolation(
                f"t={sim.now:.0f}: never-burst job {task.job} runs on cloud node {task.place}"
            )


def _no_overdue_boot(sim: Simulation) -> None:
    for node in sim.world.live_nodes():
        if node.state == NodeState.PROVISIONING and sim.now > node.created_at + node.boot_timeout:
            raise InvariantViolation(f"t={sim.now:.0f}: {node.name} still provisioning past its boot timeout")


def _no_early_delete(sim: Simulation) -> None:
    for at, name, cause in sim.world.deletes:
        node = sim.world.nodes[name]
        if cause == "idle" and at - node.created_at < sim.config.pool.delay_after_add - EPSILON:
            raise InvariantViolation(
                f"t={at:.0f}: {name} deleted {at - node.created_at:.0f} s after its create"
            )


def _within_caps(sim: Simulation) -> None:
    pool = sim.pool
    if pool.cost_cap_per_hour is not None:
        bucket = (sim.now // HOUR) * HOUR
        for t0, t1 in ((bucket, sim.now), (bucket - HOUR, bucket)):
            spent = sim.world.spend(t0, t1)
            if spent > pool.cost_cap_per_hour + EPSILON:
                raise InvariantViolation(
                    f"t={sim.now:.0f}: ${spent:.4f} spent in hour from {t0:.0f}, cap {pool.cost_cap_per_hour}"
                )
    if (
        pool.cost_cap_per_month is not None
        and sim.world.spend(0, sim.now) > pool.cost_cap_per_month + EPSILON
    ):
        raise InvariantViolation(f"t={sim.now:.0f}: monthly cap {pool.cost_cap_per_month} exceeded")


def overshoot(sim: Simulation, cap_per_hour: float | None) -> float:
    """The most any clock hour's spend went over the hourly cap (0 when within it, or no cap)."""
    if cap_per_hour is None:
        return 0.0
    hours = int(sim.world.ended_at // HOUR) + 1
    worst = max((sim.world.spend(h * HOUR, (h + 1) * HOUR) for h in range(hours)), default=0.0)
    excess = worst - cap_per_hour
    return excess if excess > EPSILON else 0.0  # float sums of many node-seconds are not exact
