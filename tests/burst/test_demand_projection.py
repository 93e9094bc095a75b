"""``unstarted_work``: queued work goes, in lease order, to the slot that frees up soonest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hpcburst.domain.burst.demand import unstarted_work


def test_slots_free_now_start_as_many_indices_as_they_are() -> None:
    assert unstarted_work([(4, 600.0)], free_at=[0.0] * 4, horizon=120) == 0
    assert unstarted_work([(6, 600.0)], free_at=[0.0] * 4, horizon=120) == 2 * 600


def test_a_slot_takes_short_indices_back_to_back_within_the_horizon() -> None:
    # one slot, 30 s indices: starts at 0, 30, 60, 90 and 120 s
    assert unstarted_work([(7, 30.0)], free_at=[0.0], horizon=120) == 2 * 30


def test_a_busy_slot_starts_queued_work_once_its_index_ends() -> None:
    assert unstarted_work([(1, 600.0)], free_at=[100.0], horizon=120) == 0
    assert unstarted_work([(1, 600.0)], free_at=[121.0], horizon=120) == 600


def test_jobs_are_served_in_lease_order() -> None:
    # the first job takes the only slot for longer than the horizon: the second waits, whole
    assert unstarted_work([(1, 300.0), (2, 10.0)], free_at=[0.0], horizon=120) == 2 * 10


jobs = st.lists(st.tuples(st.integers(0, 50), st.sampled_from([1.0, 30.0, 180.0, 3600.0])), max_size=6)
slots = st.lists(st.floats(0, 1000), max_size=20)


@given(queue=jobs, free_at=slots, horizon=st.floats(0, 900))
def test_unstarted_work_is_never_more_than_the_queue_and_never_negative(
    queue: list[tuple[int, float]], free_at: list[float], horizon: float
) -> None:
    total = sum(count * seconds for count, seconds in queue)
    assert 0 <= unstarted_work(queue, free_at, horizon) <= total


@given(queue=jobs, free_at=slots, horizon=st.floats(0, 900), more=st.floats(0, 900))
def test_another_slot_or_a_longer_horizon_never_leaves_more_work_unstarted(
    queue: list[tuple[int, float]], free_at: list[float], horizon: float, more: float
) -> None:
    before = unstarted_work(queue, free_at, horizon)
    assert unstarted_work(queue, [*free_at, more], horizon) <= before
    assert unstarted_work(queue, free_at, horizon + more) <= before
