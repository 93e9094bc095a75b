"""The burst policy, rule by rule: each test hands ``decide`` a small state and reads its actions and reasons."""

from __future__ import annotations

from burst_builders import NOW, node, pool

from hpcburst.domain.burst import (
    BurstState,
    Create,
    Delete,
    Disable,
    Drain,
    NodeState,
    QueuedWork,
    Resume,
    ScheduleEntry,
    SwitchToRegular,
    decide,
)
from hpcburst.domain.burst.ledger import Ledger


def kinds(decision: object) -> list[str]:
    return [a.kind for a in decision.actions]  # type: ignore[attr-defined]


def test_backlog_beyond_free_and_provisioning_capacity_creates_nodes_within_the_cap() -> None:
    ledger = Ledger().reserve("cloud-00001", "cloud", 0.10, 60, NOW - 30)
    state = BurstState(
        pools=[pool(cost_cap_per_hour=0.5)],
        nodes=[node("cloud-00001", NodeState.PROVISIONING, age=30)],
        work=[QueuedWork(job="j1", queued=420)],
        ledger=ledger,
        created_count={"cloud": 1},
    )
    decision = decide(state, NOW)
    [create] = decision.actions
    assert isinstance(create, Create)
    assert create.names == ["cloud-00002", "cloud-00003", "cloud-00004", "cloud-00005"]
    assert create.reason == (
        "backlog 420 indices, 0 free on-premises slots, 1 provisioning → +4 nodes in `cloud` (cap allows 4, $0.40/h)"
    )
    assert decision.reason == create.reason


def test_free_on_premises_slots_absorb_the_backlog_first() -> None:
    state = BurstState(pools=[pool()], onprem_free_slots={"cloud": 8}, work=[QueuedWork(job="j", queued=8)])
    decision = decide(state, NOW)
    assert decision.actions == []
    assert (
        decision.reason
        == "backlog 8 indices, 8 free on-premises slots, 0 provisioning → no change in `cloud`"
    )


def test_free_slots_of_pools_that_do_not_burst_absorb_only_work_that_names_no_pool() -> None:
    # An idle agent of pool `default` (which does not burst) runs jobs that name no pool, never one that
    # names `cloud`: counting its slots for that job would leave it waiting for a node that never comes.
    spare = {"onprem_spare_free_slots": 2}
    named = BurstState(pools=[pool()], work=[QueuedWork(job="j", queued=2, pool="cloud")], **spare)
    [create] = decide(named, NOW).actions
    assert isinstance(create, Create) and create.count == 1
    assert create.reason.startswith("backlog 2 indices, 0 free on-premises slots")
    anywhere = BurstState(pools=[pool()], work=[QueuedWork(job="j", queued=2)], **spare)
    assert decide(anywhere, NOW).actions == []
    taken = BurstState(pools=[pool()], work=[QueuedWork(job="p", queued=2, may_burst=False),
                                             QueuedWork(job="j", queued=2)], **spare)  # fmt: skip
    assert kinds(decide(taken, NOW)) == ["create"]  # never-burst work takes the spare slots first


def test_never_burst_work_is_left_out_of_the_demand_and_takes_its_on_premises_share() -> None:
    state = BurstState(
        pools=[pool()],
        onprem_free_slots={"cloud": 4},
        work=[QueuedWork(job="pinned", queued=50, may_burst=False), QueuedWork(job="b", queued=4)],
    )
    [create] = decide(state, NOW).actions
    assert isinstance(create, Create) and create.count == 1
    assert create.reason.startswith("backlog 4 indices, 0 free on-premises slots")


def test_pool_requests_and_max_running_caps_bound_the_demand() -> None:
    state = BurstState(
        pools=[pool(), pool(name="gpu", price_per_hour=2.0)],
        work=[QueuedWork(job="g", queued=100, pool="gpu", running_room=6), QueuedWork(job="c", queued=3)],
    )
    creates = {a.pool: a.count for a in decide(state, NOW).actions if isinstance(a, Create)}
    assert creates == {"cloud": 1, "gpu": 2}


def test_creates_stop_at_max_nodes() -> None:
    state = BurstState(pools=[pool(max_nodes=2)], work=[QueuedWork(job="j", queued=100)])
    [create] = decide(state, NOW).actions
    assert isinstance(create, Create) and create.count == 2
    assert "(max 2, $0.20/h)" in create.reason


def test_short_work_that_free_slots_finish_before_a_node_boots_creates_nothing() -> None:
    state = BurstState(
        pools=[pool(expected_boot=120)],
        onprem_free_slots={"cloud": 4},
        work=[QueuedWork(job="quick", queued=12, duration=30)],
    )
    assert decide(state, NOW).actions == []


def test_an_idle_node_past_idle_timeout_and_delay_after_add_is_drained_first() -> None:
    state = BurstState(
        pools=[pool(idle_timeout=300, delay_after_add=600)], nodes=[node("n1", idle=301, age=900)]
    )
    [drain] = decide(state, NOW).actions
    assert isinstance(drain, Drain) and drain.node == "n1"
    assert drain.reason == "n1 idle 301 s (timeout 300 s), added 900 s ago: draining before delete"


def test_an_idle_node_younger_than_delay_after_add_is_kept() -> None:
    state = BurstState(
        pools=[pool(idle_timeout=300, delay_after_add=600)], nodes=[node("n1", idle=400, age=500)]
    )
    assert decide(state, NOW).actions == []


def test_a_drained_node_is_deleted_by_name_once_nothing_runs_on_it() -> None:
    state = BurstState(
        pools=[pool()],
        nodes=[node("done", NodeState.DRAINING, idle=900), node("busy", NodeState.DRAINING, running=1)],
    )
    [delete] = decide(state, NOW).actions
    assert isinstance(delete, Delete) and delete.node == "done" and delete.cause == "idle"
    assert delete.reason == "done drained, nothing running: deleted by name"


def test_a_draining_node_is_resumed_when_demand_returns() -> None:
    state = BurstState(
        pools=[pool()], nodes=[node("n1", NodeState.DRAINING, idle=900)], work=[QueuedWork(job="j", queued=3)]
    )
    [resume] = decide(state, NOW).actions
    assert isinstance(resume, Resume) and resume.node == "n1"
    assert "resume 1 draining in `cloud` instead of creating" in resume.reason


def test_a_node_not_registered_within_its_boot_timeout_is_deleted_and_the_pool_backs_off() -> None:
    state = BurstState(
        pools=[pool(boot_timeout=600, backoff_base=60)],
        nodes=[node("slow", NodeState.PROVISIONING, age=600)],
        work=[QueuedWork(job="j", queued=40)],
    )
    decision = decide(state, NOW)
    [delete] = decision.actions
    assert isinstance(delete, Delete) and delete.node == "slow" and delete.cause == "boot_timeout"
    assert delete.reason == "slow not registered within 600 s of its create"
    assert "backing off in `cloud` for 60 s after 1 failures" in decision.reason


def test_repeated_failures_disable_the_pool_with_a_visible_reason() -> None:
    state = BurstState(
        pools=[pool(max_failures=3)],
        nodes=[node("slow", NodeState.PROVISIONING, age=700)],
        failures={"cloud": [NOW - 1200, NOW - 600]},
        work=[QueuedWork(job="j", queued=40)],
    )
    decision = decide(state, NOW)
    assert kinds(decision) == ["delete", "disable"]
    disable = decision.actions[1]
    assert isinstance(disable, Disable)
    assert disable.reason == "3 boot failures within 1 h: pool `cloud` disabled until an admin re-enables it"
    assert "`cloud` disabled: 3 boot failures" in decision.reason


def test_old_failures_outside_the_window_do_not_count() -> None:
    state = BurstState(
        pools=[pool(max_failures=2, backoff_base=60)], failures={"cloud": [NOW - 7200]},
        work=[QueuedWork(job="j", queued=4)],
    )  # fmt: skip
    assert kinds(decide(state, NOW)) == ["create"]


def test_a_weekly_schedule_raises_the_minimum_during_its_window() -> None:
    friday_morning = ScheduleEntry(weekday=4, start="07:00", end="09:00", min_nodes=2)
    state = BurstState(pools=[pool(schedule=[friday_morning])])
    [create] = decide(state, NOW).actions
    assert isinstance(create, Create) and create.count == 2
    assert create.reason.endswith("; scheduled minimum 2")
    assert decide(state, NOW + 3600).actions == []


def test_scale_down_keeps_the_scheduled_minimum() -> None:
    all_day = ScheduleEntry(weekday=4, start="00:00", end="24:00", min_nodes=1)
    state = BurstState(pools=[pool(schedule=[all_day])], nodes=[node("a", idle=3600), node("b", idle=3600)])
    assert [a.node for a in decide(state, NOW).actions if isinstance(a, Drain)] == ["a"]


def test_repeated_spot_evictions_switch_the_pool_to_regular_vms() -> None:
    state = BurstState(
        pools=[
            pool(spot=True, price_per_hour=0.03, regular_price_per_hour=0.10, evictions_before_fallback=3)
        ],
        evictions={"cloud": [NOW - 3000, NOW - 100, NOW - 50]},
        work=[QueuedWork(job="j", queued=4)],
    )
    switch, create = decide(state, NOW).actions
    assert isinstance(switch, SwitchToRegular)
    assert switch.reason == "3 spot evictions in the last hour: pool `cloud` uses regular VMs ($0.10/h)"
    assert isinstance(create, Create) and "$0.10/h" in create.reason


def test_decide_is_deterministic() -> None:
    state = BurstState(pools=[pool()], nodes=[node("a", idle=3600)], work=[QueuedWork(job="j", queued=30)])
    assert decide(state, NOW) == decide(state, NOW)
