"""Scheduling modes at the lease service: in Balanced mode (the default) jobs of equal priority share
what nodes lease, on every node; in Queued mode a later job waits for the earlier ones to run dry."""

from hpcburst import constants as c
from hpcburst.domain.scheduling import SchedulingMode
from hpcburst.services.root import from_settings
from hpcburst.settings import Settings

BIG = [{"command": "sweep *", "sweep": {"start": 1, "end": 1000}}]
SMALL = [{"command": "small *", "sweep": {"start": 1, "end": 10}}]


def jobs_of(response) -> list[str]:
    return [lease.job for lease in response.leases]


def test_a_small_job_behind_a_big_sweep_is_leased_at_the_next_call(cluster):
    big = cluster.submit(tasks=BIG)
    cluster.register("n1", slots=4)
    assert set(jobs_of(cluster.lease("n1", slots=4))) == {big}
    small = cluster.submit(tasks=SMALL)
    assert jobs_of(cluster.lease("n1", slots=2)) == [small, small]


def test_the_share_counts_what_every_node_holds(cluster):
    big = cluster.submit(tasks=BIG)
    small = cluster.submit(tasks=SMALL)
    cluster.register("n1")
    cluster.register("n2")
    assert sorted(jobs_of(cluster.lease("n1", slots=2))) == sorted([big, small])
    assert sorted(jobs_of(cluster.lease("n2", slots=2))) == sorted([big, small])
    assert jobs_of(cluster.lease("n1", slots=1)) == [big]  # held 2 each: the odd slot goes to the earlier job


def test_a_job_with_less_work_than_its_share_leaves_the_rest_to_the_others(cluster):
    big = cluster.submit(tasks=BIG)
    one = cluster.submit(tasks=[{"command": "one"}])
    cluster.register("n1", slots=6)
    assert sorted(jobs_of(cluster.lease("n1", slots=6))) == sorted([big] * 5 + [one])


def test_higher_priority_still_goes_first(cluster):
    cluster.submit(tasks=BIG)
    urgent = cluster.submit(tasks=SMALL, priority="AboveNormal")
    cluster.register("n1", slots=4)
    assert jobs_of(cluster.lease("n1", slots=4)) == [urgent] * 4


def test_in_queued_mode_a_later_job_waits_for_the_earlier_to_run_dry(cluster):
    cluster.s.lease.mode = SchedulingMode.QUEUED
    big = cluster.submit(tasks=[{"command": "sweep *", "sweep": {"start": 1, "end": 4}}])
    small = cluster.submit(tasks=SMALL)
    cluster.register("n1", slots=2)
    assert jobs_of(cluster.lease("n1", slots=2)) == [big, big]
    assert jobs_of(cluster.lease("n1", slots=4)) == [big, big, small, small]


def test_the_mode_is_a_cluster_setting_balanced_unless_set_to_queued(tmp_path, monkeypatch):
    settings = Settings(sqlite_path=tmp_path / "state.db", data_dir=tmp_path)
    monkeypatch.delenv(c.ENV_SCHEDULING_MODE, raising=False)
    default = from_settings(settings)
    monkeypatch.setenv(c.ENV_SCHEDULING_MODE, "queued")
    queued = from_settings(settings)
    try:
        assert (default.lease.mode, queued.lease.mode) == (SchedulingMode.BALANCED, SchedulingMode.QUEUED)
    finally:
        default.close()
        queued.close()
