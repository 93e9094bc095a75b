"""The burst controller sees SOA sessions' demand through the callable it is given (the broker's, once
wired): hosts a session lacks grow the pool, nodes on their way or online are not bought twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from burst_support import BurstCluster

from hpcburst.domain.burst.soa import soa_demand_of
from hpcburst.domain.soa.allocation import SessionDemand
from hpcburst.domain.states import Priority
from hpcburst.storage.state.sqlite import SqliteStateStore

FAST = {"max_nodes": 4, "slots_per_node": 2, "idle_timeout": 30, "delay_after_add": 60, "boot_timeout": 120}


@pytest.fixture
def burst(tmp_path) -> Iterator[BurstCluster]:
    cluster = BurstCluster(SqliteStateStore(tmp_path / "state.db"))
    yield cluster
    cluster.s.close()


class Sessions:
    """A stand-in for the broker's ``demands(pool)``: one session in pool ``cloud`` with a backlog."""

    def __init__(self, backlog: int, units: int = 0) -> None:
        self.backlog, self.units, self.asked = backlog, units, []

    def demands(self, pool: str) -> list[SessionDemand]:
        self.asked.append(pool)
        if pool != "cloud":
            return []
        return [SessionDemand(session="s1", pool="cloud", priority=Priority.NORMAL, created_at=0.0,
                              min_units=0, max_units=None, backlog=self.backlog, per_host=1,
                              units=self.units)]  # fmt: skip


def test_without_a_broker_wired_sessions_add_no_demand(burst: BurstCluster) -> None:
    burst.pool(**FAST)
    decision = burst.tick()
    assert decision is not None and decision.actions == []
    assert burst.creates() == []


def test_a_session_short_of_hosts_grows_the_pool_once(burst: BurstCluster) -> None:
    burst.pool(**FAST)
    sessions = Sessions(backlog=3)
    burst.s.burst.soa_demand = soa_demand_of(sessions.demands)  # as the composition root wires the broker

    decision = burst.tick()
    assert decision is not None
    assert "SOA sessions want 3 more service hosts → +2 nodes in `cloud`" in decision.reason
    assert burst.creates() == [("cloud-00001", "cloud-00002")]
    assert sessions.asked == ["cloud"]

    burst.tick(after=5)
    assert len(burst.creates()) == 1, "the booting nodes' slots are counted against the hosts wanted"
    burst.boot("cloud-00001", "cloud-00002")
    burst.tick(after=5)
    assert len(burst.creates()) == 1, "their free slots take the hosts"


def test_hosts_placed_leave_no_demand(burst: BurstCluster) -> None:
    burst.pool(**FAST)
    burst.s.burst.soa_demand = soa_demand_of(Sessions(backlog=3, units=3).demands)
    decision = burst.tick()
    assert decision is not None and decision.actions == []
    assert "SOA" not in decision.reason
