"""Balanced scheduling end to end (the default mode): a small job submitted behind a big sweep of the same
priority runs while the sweep still runs, instead of after it."""

from __future__ import annotations

import time

from hpcburst.client import Scheduler

BIG, SMALL = 3000, 10


def test_a_small_job_behind_a_big_sweep_runs_before_the_sweep_ends(scheduler: Scheduler) -> None:
    sweep = scheduler.submit("true", sweep=f"1-{BIG}")
    deadline = time.monotonic() + 60
    while scheduler.view_job(sweep)["counts"]["Finished"] < 100:  # the sweep is under way on every node
        assert time.monotonic() < deadline
        time.sleep(0.05)
    small = scheduler.submit("true", sweep=f"1-{SMALL}")
    assert scheduler.wait(small, timeout=120)["state"] == "Finished"
    assert scheduler.wait(sweep, timeout=300)["state"] == "Finished"
    small_ended = max(t["ended_at"] for t in scheduler.tasks(small))
    sweep_starts = [t["started_at"] for t in scheduler.tasks(sweep)]
    later = sum(1 for started in sweep_starts if started > small_ended)
    # Queued mode would start every sweep index first; Balanced leaves most of the sweep for afterwards.
    assert later >= BIG // 3, f"only {later} of {BIG} sweep indices started after the small job ended"
