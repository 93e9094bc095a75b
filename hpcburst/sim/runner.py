"""Run one trace under the policy and both baselines with the same seed, recording a timeline."""

from __future__ import annotations

from pydantic import BaseModel

from hpcburst.domain.burst import BurstState
from hpcburst.sim.controllers import AlwaysOn, BatchFormula, PolicyController
from hpcburst.sim.engine import Controller, SimConfig, Simulation, node_state_counts
from hpcburst.sim.metrics import SimResult, result
from hpcburst.sim.trace import TraceJob
from hpcburst.sim.world import SimJob


class Sample(BaseModel):
    at: float
    backlog: int
    nodes: dict[str, int]
    spend: float


class Run(BaseModel):
    result: SimResult
    timeline: list[Sample]


def simulate(config: SimConfig, trace: list[TraceJob], controller: Controller) -> Run:
    jobs = [SimJob(submit_time=j.submit_time, indices=j.indices, duration=j.duration, never_burst=j.never_burst)
            for j in trace]  # fmt: skip
    sim = Simulation(config, jobs, controller)
    timeline: list[Sample] = []

    def record(s: Simulation) -> None:
        if not timeline or s.now - timeline[-1].at >= config.tick:
            counts = {str(k): v for k, v in node_state_counts(s).items()}
            timeline.append(
                Sample(at=s.now, backlog=s.world.backlog(), nodes=counts, spend=s.world.spend(0, s.now))
            )

    sim.observers.append(record)
    sim.run()
    return Run(result=result(sim, trace, config.pool.cost_cap_per_hour), timeline=timeline)


def compare(config: SimConfig, trace: list[TraceJob]) -> dict[str, Run]:
    """The policy, the Batch-style formula and always-on, over the same trace and seed."""
    controllers: list[Controller] = [
        PolicyController(BurstState(pools=[config.pool])),
        BatchFormula(),
        AlwaysOn(),
    ]
    return {c.name: simulate(config, trace, c) for c in controllers}
