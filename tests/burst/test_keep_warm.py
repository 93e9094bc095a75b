"""Keep-warm, rule by rule: a pool needed again soon after letting nodes go keeps idle nodes through such gaps."""

from __future__ import annotations

from burst_builders import NOW, node, pool
from test_scale_down import busy

from hpcburst.domain.burst import BurstState, Create, Decision, Drain, apply, decide
from hpcburst.domain.burst.models import Recall
from hpcburst.domain.burst.record import BurstRecord

settings_ = {"idle_timeout": 300, "spare_after": 60, "delay_after_add": 600}
TWO_RECALLS = {"cloud": [Recall(at=NOW - 1800, gap=150), Recall(at=NOW - 600, gap=120)]}


def spare_state(idle: float, recalls: dict[str, list[Recall]] | None = None) -> BurstState:
    """b idles while a keeps running work: the plain spare rule drains b after 60 s."""
    return BurstState(
        pools=[pool(**settings_)], nodes=[busy("a", since=400), node("b", idle=idle)], recalls=recalls or {}
    )


def drained(state: BurstState) -> list[str]:
    return [a.node for a in decide(state, NOW).actions if isinstance(a, Drain)]


def test_a_pool_needed_again_soon_after_letting_nodes_go_twice_keeps_an_idle_node_warm_and_says_why() -> None:
    decision = decide(spare_state(idle=90, recalls=TWO_RECALLS), NOW)
    assert decision.actions == []
    assert decision.reason.endswith(
        "no change; keeping 1 idle node warm: the pool was needed again within 150 s of letting a node go"
        " 2 times in the last hour in `cloud`"
    )


def test_a_warm_node_idle_longer_than_the_longest_recalled_gap_is_spare_again() -> None:
    assert drained(spare_state(idle=160, recalls=TWO_RECALLS)) == ["b"]


def test_one_recall_is_not_enough_to_keep_nodes_warm() -> None:
    assert drained(spare_state(idle=90, recalls={"cloud": TWO_RECALLS["cloud"][:1]})) == ["b"]


def test_recalls_older_than_an_hour_are_forgotten() -> None:
    old = {"cloud": [Recall(at=NOW - 4000, gap=150), Recall(at=NOW - 3700, gap=150)]}
    assert drained(spare_state(idle=90, recalls=old)) == ["b"]


def test_keep_warm_never_holds_a_node_past_the_idle_timeout() -> None:
    long_gaps = {"cloud": [Recall(at=NOW - 600, gap=290), Recall(at=NOW - 300, gap=280)]}
    state = BurstState(pools=[pool(**settings_)], nodes=[node("b", idle=300)], recalls=long_gaps)
    assert drained(state) == ["b"]


def test_a_drain_remembers_when_the_node_went_idle_and_a_create_soon_after_is_a_recall() -> None:
    state = spare_state(idle=90)
    after_drain = apply(state, Decision(at=NOW, actions=[Drain(node="b", reason="spare")], reason=""), NOW)
    assert after_drain.idle_drains == {"cloud": [NOW - 90]}
    create = Create(pool="cloud", count=1, names=["cloud-00001"], reason="backlog")
    later = apply(after_drain, Decision(at=NOW + 60, actions=[create], reason=""), NOW + 60)
    assert later.recalls == {"cloud": [Recall(at=NOW + 60, gap=150)]}
    assert later.idle_drains == {"cloud": []}  # one recall per node let go


def test_a_create_after_the_idle_timeout_or_by_an_admin_is_no_recall() -> None:
    after_drain = spare_state(idle=90).model_copy(update={"idle_drains": {"cloud": [NOW - 90]}})
    create = Create(pool="cloud", count=1, names=["cloud-00001"], reason="backlog")
    too_late = apply(after_drain, Decision(at=NOW + 300, actions=[create], reason=""), NOW + 300)
    manual = create.model_copy(update={"manual": True})
    by_admin = apply(after_drain, Decision(at=NOW, actions=[manual], reason=""), NOW)
    assert too_late.recalls == {} and by_admin.recalls == {}


def test_the_controller_record_carries_the_keep_warm_memory_between_ticks() -> None:
    record = BurstRecord(idle_drains={"cloud": [NOW - 90]}, recalls=TWO_RECALLS)
    before = record.state([pool(**settings_)])
    assert before.recalls == TWO_RECALLS and before.idle_drains == {"cloud": [NOW - 90]}
    more = {"cloud": [*TWO_RECALLS["cloud"], Recall(at=NOW, gap=100)]}
    after = record.after(
        before, before.model_copy(update={"recalls": more}), Decision(at=NOW, actions=[], reason="")
    )
    assert after.recalls == more
