"""How service hosts are shared between sessions: fair, starvation-free, priority first, with hysteresis."""

from __future__ import annotations

from hpcburst.domain.soa.allocation import SessionDemand, fair_targets, place_order, surplus, wanted_units
from hpcburst.domain.states import Priority


def demand(
    session: str,
    backlog: int = 1000,
    *,
    created_at: float | None = None,
    priority: Priority = Priority.NORMAL,
    min_units: int = 0,
    max_units: int | None = None,
    per_host: int = 2,
    units: int = 0,
) -> SessionDemand:
    return SessionDemand(
        session=session,
        pool="default",
        priority=priority,
        created_at=float(ord(session[0])) if created_at is None else created_at,  # "a" is older than "b"
        min_units=min_units,
        max_units=max_units,
        backlog=backlog,
        per_host=per_host,
        units=units,
    )


# --- wanted_units: what the backlog justifies ---


def test_a_session_wants_enough_hosts_to_hold_its_whole_backlog():
    assert wanted_units(demand("a", backlog=9, per_host=2)) == 5


def test_wanted_hosts_shrink_with_the_backlog_but_not_below_min_units():
    assert [wanted_units(demand("a", backlog=b, per_host=1, min_units=2)) for b in (10, 5, 2, 1, 0)] == [
        10,
        5,
        2,
        2,
        2,
    ]


def test_wanted_hosts_never_exceed_max_units():
    assert wanted_units(demand("a", backlog=10_000, max_units=8)) == 8


def test_a_session_without_backlog_wants_only_its_min_units():
    assert wanted_units(demand("a", backlog=0, min_units=0)) == 0
    assert wanted_units(demand("a", backlog=0, min_units=3)) == 3


# --- fair_targets: sharing within a priority ---


def test_two_hungry_sessions_of_equal_priority_share_hosts_evenly():
    assert fair_targets([demand("a"), demand("b")], 4) == {"a": 2, "b": 2}


def test_an_uneven_split_gives_the_extra_host_to_the_older_session():
    assert fair_targets([demand("b"), demand("a")], 5) == {"a": 3, "b": 2}


def test_no_hungry_session_starves_while_its_tier_has_a_slot_per_member():
    sessions = [demand("a", min_units=5), demand("b"), demand("c")]
    targets = fair_targets(sessions, 3)
    assert targets == {"a": 1, "b": 1, "c": 1}


def test_what_one_session_does_not_want_goes_to_the_others():
    targets = fair_targets([demand("a", backlog=2, per_host=2), demand("b"), demand("c")], 9)
    assert targets == {"a": 1, "b": 4, "c": 4}


def test_max_units_is_respected_and_the_rest_goes_to_others():
    assert fair_targets([demand("a", max_units=2), demand("b")], 10) == {"a": 2, "b": 8}


def test_targets_never_exceed_capacity_or_what_sessions_want():
    sessions = [demand("a", backlog=4, per_host=1), demand("b", backlog=2, per_host=1)]
    assert fair_targets(sessions, 100) == {"a": 4, "b": 2}
    assert sum(fair_targets([demand("a"), demand("b"), demand("c")], 7).values()) == 7


def test_no_capacity_means_no_hosts():
    assert fair_targets([demand("a"), demand("b")], 0) == {"a": 0, "b": 0}


# --- fair_targets: min_units and priorities ---


def test_min_units_are_honoured_before_anyone_gets_an_extra_share():
    targets = fair_targets([demand("a"), demand("b", min_units=4)], 6)
    assert targets == {"a": 2, "b": 4}


def test_min_units_of_an_idle_session_are_kept_but_within_capacity():
    assert fair_targets([demand("a", backlog=0, min_units=3), demand("b")], 8) == {"a": 3, "b": 5}
    assert fair_targets([demand("a", backlog=0, min_units=3)], 2) == {"a": 2}


def test_a_higher_priority_tier_gets_every_extra_host_before_a_lower_one():
    high = demand("z", priority=Priority.HIGHEST)
    low = demand("a", priority=Priority.LOWEST, min_units=0)
    assert fair_targets([low, high], 6) == {"z": 5, "a": 1}  # the lower session gets only its first host


def test_floors_are_water_filled_within_a_tier():
    assert fair_targets([demand("a", min_units=3), demand("b", min_units=3)], 4) == {"a": 2, "b": 2}


def test_a_lower_tier_gets_what_the_higher_tier_does_not_want():
    high = demand("z", backlog=4, per_host=1, priority=Priority.ABOVE_NORMAL)
    assert fair_targets([demand("a"), high], 10) == {"z": 4, "a": 6}


def test_a_higher_tier_floor_comes_before_a_lower_tier_first_host():
    high = demand("z", priority=Priority.HIGHEST, min_units=4)
    low = demand("a", priority=Priority.LOWEST)
    assert fair_targets([low, high], 4) == {"z": 4, "a": 0}


# --- fair_targets: hysteresis ---


def test_a_session_with_backlog_keeps_its_running_hosts_in_spare_slots():
    shrinking = demand("a", backlog=2, per_host=1, units=8)  # 2 requests left, 8 hosts running
    assert fair_targets([shrinking], 10) == {"a": 8}


def test_kept_hosts_go_to_a_newcomer_at_once():
    shrinking = demand("a", backlog=2, per_host=1, units=8)
    newcomer = demand("b", backlog=100, per_host=1)
    assert fair_targets([shrinking, newcomer], 8) == {"a": 2, "b": 6}


def test_a_session_whose_backlog_is_gone_keeps_only_its_min_units():
    done = demand("a", backlog=0, min_units=1, units=8)
    targets = fair_targets([done], 10)
    assert targets == {"a": 1}
    assert surplus(done, targets["a"]) == 7


def test_kept_hosts_stay_within_max_units():
    assert fair_targets([demand("a", backlog=1, units=8, max_units=3)], 10) == {"a": 3}


# --- surplus and place_order ---


def test_surplus_is_the_hosts_above_target():
    assert surplus(demand("a", units=5), 3) == 2
    assert surplus(demand("a", units=2), 3) == 0


def test_two_hungry_sessions_fill_a_node_alternately():
    sessions = [demand("a"), demand("b")]
    assert place_order(sessions, fair_targets(sessions, 4), 4) == ["a", "b", "a", "b"]


def test_the_most_short_session_takes_a_free_slot_first():
    sessions = [demand("a", units=3), demand("b", units=0)]
    assert place_order(sessions, {"a": 4, "b": 4}, 3) == ["b", "b", "b"]


def test_no_slot_goes_to_a_session_at_its_target():
    sessions = [demand("a", units=2), demand("b", units=1)]
    assert place_order(sessions, {"a": 2, "b": 2}, 5) == ["b"]


def test_for_any_mix_targets_fit_capacity_and_every_hungry_session_gets_a_host_when_slots_allow():
    import random

    rng = random.Random(11)
    for _ in range(500):
        sessions = [
            demand(
                f"s{i}",
                backlog=rng.choice([0, 1, 5, 50]),
                created_at=rng.random(),
                priority=rng.choice(list(Priority)),
                min_units=rng.choice([0, 1, 3]),
                max_units=rng.choice([None, 3, 10]),
                per_host=rng.choice([1, 4]),
                units=rng.randint(0, 6),
            )
            for i in range(rng.randint(1, 6))
        ]
        capacity = rng.randint(0, 40)
        targets = fair_targets(sessions, capacity)
        assert sum(targets.values()) <= capacity
        hungry = [d for d in sessions if wanted_units(d) > 0]
        if capacity >= sum(max(1, d.min_units) for d in hungry):
            assert all(targets[d.session] >= 1 for d in hungry)
        for d in sessions:
            kept = min(d.units, d.max_units or d.units) if d.backlog else 0
            assert targets[d.session] <= max(wanted_units(d), kept)
