"""The cost reservation ledger: creates fit under every cap, and decisions in a row never overshoot."""

from __future__ import annotations

from burst_builders import NOW, pool
from hypothesis import given, settings
from hypothesis import strategies as st

from hpcburst.domain.burst import BurstState, Create, QueuedWork, apply, decide
from hpcburst.domain.burst.ledger import HOUR, Ledger


def test_room_counts_outstanding_reservations_against_the_hourly_cap() -> None:
    ledger = Ledger().reserve("a", "cloud", 0.10, 60, NOW).reserve("b", "cloud", 0.10, 60, NOW)
    assert ledger.room("cloud", 0.10, 60, NOW, cap_hour=0.45, cap_month=None) == 2
    assert ledger.room("cloud", 0.10, 60, NOW, cap_hour=None, cap_month=None) is None


def test_a_released_reservation_holds_until_its_minimum_billing_horizon() -> None:
    ledger = Ledger().reserve("a", "cloud", 0.36, 60, NOW).release("a", NOW + 10)
    assert ledger.committed_rate("cloud", NOW + 59) == 0.36
    assert ledger.committed_rate("cloud", NOW + 60) == 0.0
    assert abs(ledger.spent("cloud", NOW, NOW + HOUR) - 0.36 * 60 / HOUR) < 1e-12


def test_the_monthly_cap_counts_spend_so_far_plus_one_horizon_ahead() -> None:
    ledger = Ledger().reserve("a", "cloud", 3.6, 3600, NOW - 3600)  # $3.60 spent, $3.60 ahead
    assert ledger.room("cloud", 3.6, 3600, NOW, cap_hour=None, cap_month=10.0) == 0
    assert ledger.room("cloud", 3.6, 3600, NOW, cap_hour=None, cap_month=10.8) == 1


def test_the_same_state_decided_twice_names_the_same_nodes_so_a_create_by_name_cannot_double_up() -> None:
    state = BurstState(pools=[pool(cost_cap_per_hour=0.3)], work=[QueuedWork(job="j", queued=100)])
    first, second = decide(state, NOW), decide(state, NOW)
    assert first.actions == second.actions
    assert [a.names for a in first.actions if isinstance(a, Create)] == [
        ["cloud-00001", "cloud-00002", "cloud-00003"]
    ]


def test_a_second_decision_sees_the_first_ones_reservations_before_its_nodes_exist() -> None:
    state = BurstState(pools=[pool(cost_cap_per_hour=0.3)], work=[QueuedWork(job="j", queued=100)])
    after_first = apply(state, decide(state, NOW), NOW)
    # the runtime has not seen the nodes yet: only the ledger knows them
    unseen = after_first.model_copy(update={"nodes": []})
    second = decide(unseen, NOW + 1)
    assert second.actions == []
    assert "3 provisioning" in second.reason and "cap allows 0" in second.reason


@settings(max_examples=60, deadline=None)
@given(
    cap=st.floats(min_value=0.0, max_value=2.0),
    price=st.floats(min_value=0.01, max_value=1.0),
    steps=st.lists(st.tuples(st.integers(0, 200), st.floats(0, 120), st.booleans()), min_size=1, max_size=25),
)
def test_decisions_in_a_row_never_commit_more_than_the_hourly_cap(
    cap: float, price: float, steps: list[tuple[int, float, bool]]
) -> None:
    state = BurstState(pools=[pool(cost_cap_per_hour=cap, price_per_hour=price, max_nodes=50)])
    now = NOW
    for queued, advance, forget_nodes in steps:
        now += advance
        if forget_nodes:  # creates in flight: nodes not visible yet, reservations are
            state = state.model_copy(update={"nodes": []})
        state = state.model_copy(update={"work": [QueuedWork(job="j", queued=queued)]})
        state = apply(state, decide(state, now), now)
        assert state.ledger.committed_rate("cloud", now) <= cap + 1e-9
