"""Scheduling modes: Queued serves jobs one after another; Balanced shares slots within a priority band."""

import pytest

from hpcburst.domain.job import Job, TaskSpec
from hpcburst.domain.scheduling import SchedulingMode, balanced_shares, service_groups
from hpcburst.domain.states import JobState, Priority
from hpcburst.errors import ConfigError


def _job(id: str, priority: Priority = Priority.NORMAL, submitted_at: float = 0.0) -> Job:
    return Job(
        id=id,
        name=id,
        owner="me",
        priority=priority,
        tasks=[TaskSpec(command="true", sweep={"start": 1, "end": 10})],
        state=JobState.QUEUED,
        submitted_at=submitted_at,
        total=10,
        batch_size=10,
        batches=1,
        instance_id=f"job-{id}",
    )


SWEEP = _job("sweep", submitted_at=1.0)
SMALL = _job("small", submitted_at=2.0)
URGENT = _job("urgent", Priority.HIGHEST, submitted_at=3.0)
LATER = _job("later", Priority.BELOW_NORMAL, submitted_at=0.5)


def ids(groups: list[list[Job]]) -> list[list[str]]:
    return [[j.id for j in group] for group in groups]


def test_balanced_is_the_default_and_names_are_case_insensitive():
    assert SchedulingMode.parse(None) == SchedulingMode.parse("") == SchedulingMode.BALANCED
    assert SchedulingMode.parse(" QUEUED ") == SchedulingMode.QUEUED
    with pytest.raises(ConfigError, match="'balanced' or 'queued'"):
        SchedulingMode.parse("fair")


def test_queued_mode_serves_one_job_at_a_time_in_priority_order():
    groups = service_groups([SMALL, LATER, SWEEP, URGENT], SchedulingMode.QUEUED)
    assert ids(groups) == [["urgent"], ["sweep"], ["small"], ["later"]]


def test_balanced_mode_groups_jobs_of_equal_priority_highest_first():
    groups = service_groups([SMALL, LATER, SWEEP, URGENT], SchedulingMode.BALANCED)
    assert ids(groups) == [["urgent"], ["sweep", "small"], ["later"]]


def test_a_job_holding_nothing_is_served_before_one_holding_much():
    # a 100k sweep holds 1,000 leased indices across the nodes; a small job just arrived
    assert balanced_shares(500, [1000, 0]) == [0, 500]


def test_shares_level_out_what_the_jobs_hold():
    held = [4, 0, 1]
    shares = balanced_shares(6, held)
    assert shares == [0, 4, 2]
    assert [h + s for h, s in zip(held, shares, strict=True)] == [4, 4, 3]


def test_an_odd_slot_goes_to_the_earlier_job():
    assert balanced_shares(1, [0, 0]) == [1, 0]
    assert balanced_shares(3, [0, 0]) == [2, 1]
    assert balanced_shares(2, [1, 1, 1]) == [1, 1, 0]


def test_across_nodes_two_one_slot_calls_split_like_one_two_slot_call():
    first = balanced_shares(1, [0, 0])  # node A asks for one slot
    second = balanced_shares(1, [a + b for a, b in zip([0, 0], first, strict=True)])  # then node B
    assert [a + b for a, b in zip(first, second, strict=True)] == balanced_shares(2, [0, 0]) == [1, 1]


def test_shares_always_add_up_to_what_was_wanted():
    for wanted in (0, 1, 7, 512):
        for held in ([0], [3, 3], [10, 0, 5, 2], [0] * 7):
            shares = balanced_shares(wanted, held)
            assert sum(shares) == wanted and all(s >= 0 for s in shares)


def test_nothing_wanted_or_no_jobs_gives_nothing():
    assert balanced_shares(0, [1, 2]) == [0, 0]
    assert balanced_shares(5, []) == []
