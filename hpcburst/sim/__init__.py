"""A discrete-event simulator that runs the real burst policy (``hpcburst.domain.burst.decide``).

A simulated clock and a heap of events drive a fake provisioner (lognormal boot times, boots that never
register, spot evictions) and fake agents that lease queued indices. The same engine runs two baselines:
an Azure-Batch-style autoscale formula and an always-on pool at its maximum size.
"""

from hpcburst.sim.controllers import AlwaysOn, BatchFormula, PolicyController
from hpcburst.sim.engine import InvariantViolation, SimConfig, Simulation
from hpcburst.sim.metrics import SimResult
from hpcburst.sim.trace import TraceJob, load_trace, shipped_traces

__all__ = [
    "AlwaysOn",
    "BatchFormula",
    "InvariantViolation",
    "PolicyController",
    "SimConfig",
    "SimResult",
    "Simulation",
    "TraceJob",
    "load_trace",
    "shipped_traces",
]
