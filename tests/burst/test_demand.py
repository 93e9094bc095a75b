"""How the policy counts demand: queued work against the slots that are free, or will be, within a boot."""

from __future__ import annotations

from burst_builders import NOW, pool

from hpcburst.domain.burst import BurstState, Create, QueuedWork, RunningIndex, decide


def busy_until(*seconds_from_now: float) -> list[RunningIndex]:
    return [RunningIndex(started_at=NOW - 60, expected_end=NOW + s) for s in seconds_from_now]


def created(state: BurstState) -> int:
    return sum(a.count for a in decide(state, NOW).actions if isinstance(a, Create))


def test_busy_slots_that_free_up_soon_take_the_backlog_instead_of_a_new_node() -> None:
    # 8 on-premises slots, all busy: their indices end 10 s from now, so 8 queued 3-minute indices start then
    state = BurstState(
        pools=[pool(expected_boot=120)],
        onprem_busy_slots={"cloud": 8},
        onprem_running={"cloud": busy_until(*[10] * 8)},
        work=[QueuedWork(job="j", queued=8, duration=180)],
    )
    assert created(state) == 0


def test_busy_slots_that_stay_busy_past_a_boot_leave_the_backlog_to_new_nodes() -> None:
    state = BurstState(
        pools=[pool(expected_boot=120)],
        onprem_busy_slots={"cloud": 8},
        onprem_running={"cloud": busy_until(*[3000] * 8)},
        work=[QueuedWork(job="j", queued=8, duration=180)],
    )
    assert created(state) == 2


def test_never_burst_work_waiting_on_premises_takes_the_busy_slots_as_they_free_up() -> None:
    state = BurstState(
        pools=[pool(expected_boot=120)],
        onprem_busy_slots={"cloud": 8},
        onprem_running={"cloud": busy_until(*[10] * 8)},
        work=[
            QueuedWork(job="pinned", queued=8, may_burst=False, duration=180),
            QueuedWork(job="j", queued=8, duration=180),
        ],
    )
    assert created(state) == 2
