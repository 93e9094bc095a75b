"""SOA sessions as burst demand: service hosts a session wants and lacks grow the pool as queued indices do.

``BurstState.soa_slots`` holds, per pool, the hosts the open sessions' backlogs justify beyond those they
have; a host takes one slot for its session's life, so hosts take free slots before queued indices."""

from __future__ import annotations

from burst_builders import NOW, node, pool

from hpcburst.domain.burst import BurstState, Create, NodeState, QueuedWork, decide
from hpcburst.domain.burst.soa import slots_wanted, soa_demand_of
from hpcburst.domain.soa.allocation import SessionDemand
from hpcburst.domain.states import Priority


def session(name: str, backlog: int, units: int, pool: str = "cloud", **bounds: int | None) -> SessionDemand:
    return SessionDemand(session=name, pool=pool, priority=Priority.NORMAL, created_at=NOW,
                         min_units=bounds.get("min_units") or 0, max_units=bounds.get("max_units"),
                         backlog=backlog, per_host=2, units=units)  # fmt: skip


def test_a_session_with_backlog_and_no_free_slot_adds_cloud_nodes_and_says_why() -> None:
    state = BurstState(pools=[pool()], soa_slots={"cloud": 6})
    decision = decide(state, NOW)
    [create] = decision.actions
    assert isinstance(create, Create) and create.count == 2  # 6 hosts, 4 slots per node
    assert create.reason == (
        "backlog 0 indices, 0 free on-premises slots, 0 provisioning, SOA sessions want 6 more service hosts"
        " → +2 nodes in `cloud` (max 10, $0.20/h)"
    )


def test_free_on_premises_slots_take_the_hosts_first() -> None:
    state = BurstState(pools=[pool()], soa_slots={"cloud": 6}, onprem_free_slots={"cloud": 6})
    assert decide(state, NOW).actions == []


def test_hosts_take_free_slots_before_queued_indices_do() -> None:
    # 4 free slots, 4 hosts wanted, 4 indices queued: the hosts hold their slots, the indices need a node.
    work = [QueuedWork(job="j", queued=4)]
    state = BurstState(pools=[pool()], soa_slots={"cloud": 4}, onprem_free_slots={"cloud": 4}, work=work)
    [create] = decide(state, NOW).actions
    assert isinstance(create, Create) and create.count == 1


def test_hosts_take_free_slots_first_when_durations_are_known_too() -> None:
    work = [QueuedWork(job="j", queued=4, duration=600.0)]
    state = BurstState(pools=[pool()], soa_slots={"cloud": 4}, onprem_free_slots={"cloud": 4}, work=work)
    [create] = decide(state, NOW).actions
    assert isinstance(create, Create) and create.count == 1
    without_sessions = state.model_copy(update={"soa_slots": {}})
    assert decide(without_sessions, NOW).actions == []


def test_nodes_on_their_way_count_against_the_hosts_wanted() -> None:
    booting = node("cloud-00001", NodeState.PROVISIONING, age=30)
    state = BurstState(pools=[pool()], nodes=[booting], soa_slots={"cloud": 4}, created_count={"cloud": 1})
    assert decide(state, NOW).actions == []


def test_an_idle_node_whose_slots_the_sessions_want_is_not_drained() -> None:
    idle = node("cloud-00001", idle=3600)
    wanted = BurstState(pools=[pool(idle_timeout=60)], nodes=[idle], soa_slots={"cloud": 2})
    assert decide(wanted, NOW).actions == []
    unwanted = wanted.model_copy(update={"soa_slots": {}})
    assert [a.kind for a in decide(unwanted, NOW).actions] == ["drain"]


def test_demand_of_other_pools_does_not_grow_this_one() -> None:
    state = BurstState(pools=[pool()], soa_slots={"elsewhere": 40})
    assert decide(state, NOW).actions == []


def test_slots_wanted_sums_the_hosts_each_session_lacks() -> None:
    assert slots_wanted([]) == 0
    assert slots_wanted([session("s1", backlog=10, units=1)]) == 4  # 5 hosts hold 10 requests, 2 each
    assert slots_wanted([session("s1", backlog=10, units=7)]) == 0  # above its want: gives nothing back
    assert slots_wanted([session("s1", backlog=10, units=1, max_units=3)]) == 2
    assert slots_wanted([session("s1", backlog=0, units=0, min_units=2)]) == 2
    both = [session("s1", backlog=10, units=1), session("s2", backlog=4, units=0)]
    assert slots_wanted(both) == 4 + 2


def test_the_controllers_callable_asks_the_broker_per_pool() -> None:
    asked: list[str] = []

    def demands(pool: str) -> list[SessionDemand]:
        asked.append(pool)
        return [session("s1", backlog=6, units=0, pool=pool)] if pool == "cloud" else []

    soa_demand = soa_demand_of(demands)
    assert (soa_demand("cloud"), soa_demand("other")) == (3, 0)
    assert asked == ["cloud", "other"]
