"""Cost accounting: cloud node time is shared by slots, on-premises time is free, the rest is idle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcburst.domain.burst.ledger import Reservation
from hpcburst.domain.cost import BilledNode, CostBy, Run, account, report, run_of
from hpcburst.domain.states import TaskState
from hpcburst.domain.task import TaskInstance

T0 = 1_700_000_000.0
PRICE = 3.60  # $ per node-hour: $0.001 per node-second


def node(name: str = "cloud-00001", slots: int = 4, start: float = T0, released: float | None = None,
         horizon: float = 60.0, pool: str = "cloud") -> BilledNode:  # fmt: skip
    reservation = Reservation(node=name, pool=pool, price_per_hour=PRICE, start=start, horizon=horizon,
                              released_at=released)  # fmt: skip
    return BilledNode(reservation=reservation, slots=slots)


def run(job: str, start: float, seconds: float, node: str = "cloud-00001", owner: str = "ana") -> Run:
    return Run(job=job, owner=owner, node=node, start=start, end=start + seconds)


def test_a_job_pays_its_share_of_a_node_by_the_slots_its_indices_used() -> None:
    runs = [run("1", T0, 100), run("2", T0, 100), run("2", T0 + 100, 100)]
    accounts = account([node(slots=4, released=T0 + 400)], runs, T0, T0 + 1000)
    assert accounts.jobs["1"] == pytest.approx(100 * 0.001 / 4)
    assert accounts.jobs["2"] == pytest.approx(200 * 0.001 / 4)


def test_a_user_pays_the_sum_of_their_jobs() -> None:
    runs = [run("1", T0, 100, owner="ana"), run("2", T0, 100, owner="ana"), run("3", T0, 100, owner="bo")]
    accounts = account([node(slots=4)], runs, T0, T0 + 200)
    assert accounts.users == pytest.approx({"ana": 0.05, "bo": 0.025})
    assert accounts.owners == {"1": "ana", "2": "ana", "3": "bo"}


def test_an_index_on_an_on_premises_node_costs_nothing() -> None:
    accounts = account([node()], [run("1", T0, 100, node="lab-pc-7")], T0, T0 + 200)
    assert accounts.jobs == {} and accounts.users == {}
    assert accounts.pools["cloud"].used == 0.0


def test_the_minimum_billing_horizon_and_boot_time_are_the_pools_idle_cost() -> None:
    # booted 20 s, ran one index 10 s on its only slot, released at 30 s: billed the 60 s horizon
    cloud = node(slots=1, released=T0 + 30, horizon=60)
    accounts = account([cloud], [run("1", T0 + 20, 10)], T0, T0 + 3600)
    pool = accounts.pools["cloud"]
    assert accounts.jobs["1"] == pytest.approx(0.010)
    assert (pool.spend, pool.used, pool.idle) == pytest.approx((0.060, 0.010, 0.050))


def test_a_pools_spend_is_the_ledgers_spend_in_the_window() -> None:
    nodes = [node("a", released=T0 + 100), node("b", start=T0 + 50), node("c", pool="gpu", start=T0)]
    accounts = account(nodes, [], T0 + 60, T0 + 160)
    assert accounts.pools["cloud"].spend == pytest.approx((40 + 100) * 0.001)
    assert accounts.pools["gpu"].spend == pytest.approx(100 * 0.001)


def test_since_counts_only_what_ran_inside_the_window() -> None:
    runs = [run("old", T0, 100), run("both", T0 + 50, 100), run("new", T0 + 150, 10)]
    accounts = account([node(slots=1)], runs, T0 + 100, T0 + 200)
    assert "old" not in accounts.jobs
    assert accounts.jobs["both"] == pytest.approx(50 * 0.001)
    assert accounts.jobs["new"] == pytest.approx(10 * 0.001)
    assert accounts.pools["cloud"].spend == pytest.approx(100 * 0.001)


def test_time_outside_the_nodes_billed_life_is_not_charged() -> None:
    # an agent's clock ahead of the service's: the index "ended" after the node was billed out
    accounts = account(
        [node(slots=1, released=T0 + 100, horizon=60)], [run("1", T0 + 50, 500)], T0, T0 + 3600
    )
    assert accounts.jobs["1"] == pytest.approx(50 * 0.001)


def test_a_node_never_charges_more_than_it_billed_even_when_indices_overlap_beyond_its_slots() -> None:
    runs = [run(str(i), T0, 100) for i in range(4)]  # four at once on a node of two slots
    accounts = account([node(slots=2, released=T0 + 100)], runs, T0, T0 + 100)
    assert sum(accounts.jobs.values()) == pytest.approx(accounts.pools["cloud"].spend)
    assert accounts.jobs["0"] == pytest.approx(100 * 0.001 / 4)
    assert accounts.pools["cloud"].idle == 0.0


@given(
    slots=st.integers(1, 8),
    runs=st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 900), st.floats(0, 300)), max_size=30),
    window=st.tuples(st.floats(0, 600), st.floats(0, 1200)),
)
def test_every_dollar_is_charged_once_jobs_and_users_add_up_to_what_the_pool_used(
    slots, runs, window
) -> None:
    t0, t1 = T0 + min(window), T0 + max(window)
    cloud = node(slots=slots, released=T0 + 1000)
    accounts = account([cloud], [run(job, T0 + at, s, owner=job * 2) for job, at, s in runs], t0, t1)
    pool = accounts.pools["cloud"]
    assert sum(accounts.jobs.values()) == pytest.approx(pool.used)
    assert sum(accounts.users.values()) == pytest.approx(pool.used)
    assert pool.used <= pool.spend + 1e-12
    assert pool.used + pool.idle == pytest.approx(pool.spend)


def task(state: TaskState, **fields: object) -> TaskInstance:
    return TaskInstance(id="7.1.3", job="7", task=1, index=3, batch=0, state=state, **fields)  # type: ignore[arg-type]


def test_a_finished_or_failed_index_ran_from_its_start_to_its_end_as_reported() -> None:
    done = task(TaskState.FINISHED, node="n", leased_at=T0, started_at=T0 + 2, ended_at=T0 + 12)
    failed = task(TaskState.FAILED, node="n", leased_at=T0, ended_at=T0 + 5)
    assert run_of(done, "ana", T0 + 99) == Run(job="7", owner="ana", node="n", start=T0 + 2, end=T0 + 12)
    assert run_of(failed, "ana", T0 + 99) == Run(job="7", owner="ana", node="n", start=T0, end=T0 + 5)


def test_a_running_index_runs_from_its_lease_until_now_whatever_an_earlier_attempt_reported() -> None:
    retried = task(TaskState.RUNNING, node="n", leased_at=T0 + 50, started_at=T0, ended_at=T0 + 10)
    assert run_of(retried, "ana", T0 + 80) == Run(job="7", owner="ana", node="n", start=T0 + 50, end=T0 + 80)


def test_an_index_with_no_node_or_no_known_end_has_no_run() -> None:
    assert run_of(task(TaskState.QUEUED), "ana", T0) is None
    assert run_of(task(TaskState.CANCELED, node="n", leased_at=T0), "ana", T0 + 9) is None


def test_the_report_lists_what_cost_anything_costliest_first_with_a_total() -> None:
    runs = [run("1", T0, 100, owner="ana"), run("2", T0, 300, owner="bo"), run("3", T0 + 500, 9)]
    accounts = account([node(slots=1)], runs, T0, T0 + 400)
    by_job = report(accounts, CostBy.JOB, None, T0 + 400)
    assert [(r.name, r.owner) for r in by_job.rows] == [("2", "bo"), ("1", "ana")]
    assert by_job.total == pytest.approx(0.4)
    by_pool = report(accounts, CostBy.POOL, T0, T0 + 400).rows
    assert [(r.name, r.cost, r.used, r.idle) for r in by_pool] == [("cloud", pytest.approx(0.4),
                                                                    pytest.approx(0.4), 0.0)]  # fmt: skip
