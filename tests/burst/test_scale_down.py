"""Scale-down, rule by rule: idle nodes wait out the idle timeout, spare ones in a busy pool go sooner."""

from __future__ import annotations

from burst_builders import NOW, node, pool
from hypothesis import given, settings
from hypothesis import strategies as st

from hpcburst.domain.burst import BurstState, CloudNode, Drain, NodeState, QueuedWork, RunningIndex, decide


def busy(name: str, since: float, *, age: float = 3600) -> CloudNode:
    """A node with all 4 slots running indices that started ``since`` seconds ago."""
    indices = [RunningIndex(started_at=NOW - since, expected_end=NOW + 600)] * 4
    return node(name, age=age, running=4).model_copy(update={"running_indices": indices})


def drained(state: BurstState) -> list[str]:
    return [a.node for a in decide(state, NOW).actions if isinstance(a, Drain)]


settings_ = {"idle_timeout": 300, "spare_after": 60, "delay_after_add": 600}


def test_a_node_idle_while_the_rest_of_the_pool_kept_running_work_is_spare_and_drained_early() -> None:
    state = BurstState(pools=[pool(**settings_)], nodes=[busy("a", since=200), node("b", idle=90)])
    [drain] = decide(state, NOW).actions
    assert isinstance(drain, Drain) and drain.node == "b"
    assert drain.reason == (
        "b idle 90 s while the pool kept running work (spare after 60 s), added 3600 s ago: draining before delete"
    )


def test_in_a_pause_with_nothing_running_an_idle_node_waits_out_the_idle_timeout() -> None:
    state = BurstState(pools=[pool(**settings_)], nodes=[node("a", idle=90), node("b", idle=90)])
    assert drained(state) == []


def test_work_that_resumed_after_a_pause_does_not_make_the_nodes_idle_through_the_pause_spare() -> None:
    # b has been idle 250 s, but the pool only went back to work 20 s ago
    state = BurstState(pools=[pool(**settings_)], nodes=[busy("a", since=20), node("b", idle=250)])
    assert drained(state) == []


def test_busy_on_premises_slots_make_the_pool_busy_too() -> None:
    state = BurstState(
        pools=[pool(**settings_)],
        nodes=[node("b", idle=90)],
        onprem_busy_slots={"cloud": 8},
        onprem_running={"cloud": [RunningIndex(started_at=NOW - 200, expected_end=NOW + 60)] * 8},
    )
    assert drained(state) == ["b"]


def test_a_draining_node_still_finishing_its_indices_keeps_the_pool_busy() -> None:
    finishing = busy("a", since=200).model_copy(update={"state": NodeState.DRAINING})
    state = BurstState(pools=[pool(**settings_)], nodes=[finishing, node("b", idle=90)])
    assert drained(state) == ["b"]


def test_a_spare_node_the_backlog_needs_is_kept() -> None:
    state = BurstState(
        pools=[pool(**settings_)],
        nodes=[busy("a", since=200), node("b", idle=90)],
        work=[QueuedWork(job="j", queued=4)],
    )
    assert drained(state) == []


def test_a_spare_node_younger_than_delay_after_add_is_kept() -> None:
    state = BurstState(pools=[pool(**settings_)], nodes=[busy("a", since=200), node("b", idle=90, age=500)])
    assert drained(state) == []


def test_a_node_an_admin_started_is_never_spare() -> None:
    manual = node("b", idle=90).model_copy(update={"manual": True})
    state = BurstState(pools=[pool(**settings_)], nodes=[busy("a", since=200), manual])
    assert drained(state) == []


nodes = st.builds(
    lambda i, state, age, idle, running, since, manual: node(
        f"n{i}", state, age=age, idle=min(idle, age), running=running
    ).model_copy(
        update={
            "manual": manual,
            "running_indices": [RunningIndex(started_at=NOW - since, expected_end=NOW + 60)] * running,
        }
    ),
    i=st.integers(0, 9),
    state=st.sampled_from([NodeState.ONLINE, NodeState.PROVISIONING, NodeState.DRAINING]),
    age=st.floats(0, 4000),
    idle=st.floats(0, 4000),
    running=st.integers(0, 4),
    since=st.floats(0, 4000),
    manual=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    fleet=st.lists(nodes, max_size=8, unique_by=lambda n: n.name),
    queued=st.integers(0, 40),
    spare_after=st.sampled_from([0.0, 60.0, 600.0]),
    onprem_busy=st.integers(0, 8),
)
def test_the_policy_never_drains_a_node_an_admin_started_a_busy_node_or_one_younger_than_delay_after_add(
    fleet: list[CloudNode], queued: int, spare_after: float, onprem_busy: int
) -> None:
    state = BurstState(
        pools=[pool(idle_timeout=300, spare_after=spare_after, delay_after_add=600)],
        nodes=fleet,
        work=[QueuedWork(job="j", queued=queued, duration=120)],
        onprem_busy_slots={"cloud": onprem_busy},
        onprem_running={"cloud": [RunningIndex(started_at=NOW - 500, expected_end=NOW + 30)] * onprem_busy},
    )
    by_name = {n.name: n for n in fleet}
    for name in drained(state):
        n = by_name[name]
        assert not n.manual and n.running == 0 and NOW - n.created_at >= 600
