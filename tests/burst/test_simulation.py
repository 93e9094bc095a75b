"""The simulator runs the real policy; its invariants hold after every event, over many seeds and traces.

Each run raises ``InvariantViolation`` the moment spend goes over a cap, a never-burst index lands on a
cloud node, an index goes missing, a node stays Provisioning past its boot timeout, or a scale-down delete
comes sooner than delay-after-add.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpcburst.domain.burst import BurstPool, BurstState, RunningIndex
from hpcburst.sim.controllers import PolicyController
from hpcburst.sim.engine import SimConfig, Simulation
from hpcburst.sim.runner import compare, simulate
from hpcburst.sim.trace import TraceJob, load_trace, shipped_traces
from hpcburst.sim.world import SimJob

jobs = st.builds(
    TraceJob,
    submit_time=st.floats(0, 3600).map(round),
    indices=st.integers(1, 40),
    duration=st.sampled_from([10.0, 45.0, 120.0, 600.0]),
    never_burst=st.booleans(),
)
pools = st.builds(
    BurstPool,
    name=st.just("cloud"),
    max_nodes=st.integers(0, 8),
    slots_per_node=st.integers(1, 4),
    spot=st.booleans(),
    price_per_hour=st.sampled_from([0.05, 0.10, 0.30]),
    regular_price_per_hour=st.just(0.30),
    idle_timeout=st.sampled_from([60.0, 300.0]),
    boot_timeout=st.sampled_from([180.0, 600.0]),
    delay_after_add=st.sampled_from([0.0, 300.0, 900.0]),
    cost_cap_per_hour=st.one_of(st.none(), st.sampled_from([0.0, 0.15, 0.5])),
    cost_cap_per_month=st.one_of(st.none(), st.sampled_from([0.2, 5.0])),
    billing_horizon=st.sampled_from([60.0, 3600.0]),
    backoff_base=st.just(60.0),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pool=pools,
    trace=st.lists(jobs, min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
    hang_rate=st.sampled_from([0.0, 0.1, 0.5]),
    evictions=st.sampled_from([0.0, 2.0, 20.0]),
)
def test_invariants_hold_after_every_event(
    pool: BurstPool, trace: list[TraceJob], seed: int, hang_rate: float, evictions: float
) -> None:
    config = SimConfig(
        pool=pool, onprem_slots=4, seed=seed, boot_hang_rate=hang_rate, evictions_per_hour=evictions
    )
    run = simulate(
        config, sorted(trace, key=lambda j: j.submit_time), PolicyController(BurstState(pools=[pool]))
    )
    assert run.result.overshoot == 0.0


def test_every_index_of_a_shipped_trace_finishes_under_the_policy_and_both_baselines() -> None:
    config = SimConfig(pool=BurstPool(name="cloud", cost_cap_per_hour=0.8), seed=3)
    runs = compare(config, load_trace("square_5m"))
    assert set(runs) == {"burst policy", "Batch-style formula", "always on at max"}
    for run in runs.values():
        assert run.result.wait_p99 >= run.result.wait_p50 >= 0
    assert runs["burst policy"].result.overshoot == 0.0


def test_every_shipped_trace_loads() -> None:
    for name in shipped_traces():
        assert load_trace(name), name


def test_the_policy_sees_busy_on_premises_slots_and_when_their_indices_should_end() -> None:
    pool = BurstPool(name="cloud")
    controller = PolicyController(BurstState(pools=[pool]))
    sim = Simulation(SimConfig(pool=pool, onprem_slots=8), [SimJob(0, 6, 180, False)], controller)
    sim.world.submit(0, 0.0)
    sim.world.dispatch(0.0, lambda task: None)
    state = controller.observe(sim, 0.0)
    assert state.onprem_free_slots == {"cloud": 2}
    assert state.onprem_busy_slots == {"cloud": 6}
    assert state.onprem_running["cloud"] == [RunningIndex(started_at=0, expected_end=180)] * 6
