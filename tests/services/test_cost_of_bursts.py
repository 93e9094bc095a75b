"""Cost accounting over what the real burst controller recorded: nodes it made, ran work on and deleted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from burst_support import BurstCluster
from principals import ADMIN

from hpcburst.domain.cost import CostBy
from hpcburst.storage.state.sqlite import SqliteStateStore

FAST = {
    "max_nodes": 4,
    "slots_per_node": 2,
    "idle_timeout": 30,
    "delay_after_add": 60,
    "boot_timeout": 120,
    "price_per_hour": 3.60,
}  # fmt: skip  ($0.001 per node-second)


@pytest.fixture
def burst(tmp_path) -> Iterator[BurstCluster]:
    cluster = BurstCluster(SqliteStateStore(tmp_path / "state.db"))
    yield cluster
    cluster.s.close()


def test_a_burst_costs_its_nodes_billed_time_the_job_pays_its_slots_and_the_rest_is_idle(burst):
    burst.pool(**FAST)
    job = burst.submit(indices=4)
    burst.tick()
    names = ("cloud-00001", "cloud-00002")
    assert burst.creates() == [names]
    burst.boot(*names)
    burst.tick()
    assert sum(burst.run_all(name) for name in names) == 4  # each index runs 1 s
    for after in (59, 2, 2):  # the delay after add, then drain, then delete
        burst.tick(after=after)
    record = burst.record()
    assert record.nodes == [] and {s.name for s in record.stopped} == set(names)

    assert burst.s.jobs.view(job, ADMIN).cost == pytest.approx(4 * 1 * 0.001 / 2)
    (pool,) = burst.s.cost.report(ADMIN, CostBy.POOL).rows
    assert pool.cost == pytest.approx(2 * 63 * 0.001), "two nodes billed from create to delete"
    assert (pool.used, pool.idle) == pytest.approx((0.002, 0.124))
