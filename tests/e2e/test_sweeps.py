"""Parametric sweeps end to end: the real runtime, Azurite and agent processes (see conftest)."""

from __future__ import annotations

import signal
import time
import uuid
from typing import Any

import psutil

from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster

WAIT = 90.0


def run(s: Scheduler, command: list[str] | str, **task: Any) -> tuple[str, dict[str, Any]]:
    job = s.submit(command, **task)
    return job, s.wait(job, timeout=WAIT, interval=0.1)


def by_index(s: Scheduler, job: str) -> dict[int, dict[str, Any]]:
    tasks = list(s.tasks(job))
    assert len({t["id"] for t in tasks}) == len(tasks)  # each index recorded once
    return {t["index"]: t for t in tasks}


def test_a_200_index_sweep_runs_every_index_once_with_its_own_output(scheduler: Scheduler) -> None:
    job, view = run(scheduler, ["echo", "out-*"], sweep="1-200")
    assert view["state"] == "Finished" and view["counts"]["Finished"] == 200
    tasks = by_index(scheduler, job)
    assert sorted(tasks) == list(range(1, 201))
    for index, task in tasks.items():
        assert task["state"] == "Finished" and task["exit_code"] == 0
        assert scheduler.task_output(job, index) == f"out-{index}\n".encode()


def test_star_runs_are_the_index_zero_padded_and_caret_star_is_a_literal_star(scheduler: Scheduler) -> None:
    job, view = run(scheduler, ["echo", "*", "***", "^*", "x*y"], sweep="7-9")
    assert view["state"] == "Finished"
    for index in (7, 8, 9):
        assert scheduler.task_output(job, index) == f"{index} {index:03d} * x{index}y\n".encode()


def test_a_failing_index_is_retried_up_to_the_limit(scheduler: Scheduler) -> None:
    # fails on its first run, succeeds on the retry (CCP_RETRY_COUNT counts re-runs)
    flaky = 'test "$CCP_RETRY_COUNT" -ge 1 || exit 3'
    job, view = run(scheduler, flaky, sweep="1-4", retries=1)
    assert view["state"] == "Finished"
    assert all(t["retry_count"] == 1 and t["exit_code"] == 0 for t in by_index(scheduler, job).values())
    job, view = run(scheduler, "exit 5", sweep="1-2", retries=2)
    assert view["state"] == "Failed"
    assert all(t["retry_count"] == 2 and t["exit_code"] == 5 for t in by_index(scheduler, job).values())


def test_an_index_over_its_max_run_time_is_killed_and_fails(scheduler: Scheduler) -> None:
    job, view = run(scheduler, ["sleep", "30"], max_run_time=1)
    assert view["state"] == "Failed"
    (task,) = by_index(scheduler, job).values()
    assert task["timed_out"] and task["state"] == "Failed"


def test_canceling_a_running_sweep_kills_its_processes_within_5_seconds(scheduler: Scheduler) -> None:
    marker = f"{60 + uuid.uuid4().int % 1000 / 1000:.3f}"  # a sleep duration no one else uses
    job = scheduler.submit(["sleep", marker], sweep="1-20")
    deadline = time.monotonic() + WAIT
    while len(_processes(marker)) < 2:
        assert time.monotonic() < deadline, "the sweep never started"
        time.sleep(0.1)
    scheduler.cancel_job(job)
    gone_by = time.monotonic() + 5.0
    while _processes(marker) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert _processes(marker) == []
    assert scheduler.view_job(job)["state"] == "Canceled"


def _processes(marker: str) -> list[int]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if p.info["cmdline"] == ["sleep", marker]:
            found.append(p.pid)
    return found


def test_requeue_runs_the_failed_indices_again(cluster: LocalCluster, scheduler: Scheduler) -> None:
    flags = cluster.data_dir / "requeue-flags"  # where the tasks' unprivileged account can look
    flags.mkdir(mode=0o755)
    job, view = run(scheduler, f"test -f {flags}/ok-*", sweep="1-6")
    assert view["state"] == "Failed" and view["counts"]["Failed"] == 6
    for index in range(1, 7):
        (flags / f"ok-{index}").touch()
    scheduler.requeue_job(job)
    view = scheduler.wait(job, timeout=WAIT, interval=0.1)
    assert view["state"] == "Finished"
    assert all(t["state"] == "Finished" and t["exit_code"] == 0 for t in by_index(scheduler, job).values())


def test_the_per_sweep_cap_is_never_exceeded(scheduler: Scheduler) -> None:
    job, view = run(scheduler, ["sleep", "0.3"], sweep="1-12", max_running=2)
    assert view["state"] == "Finished"
    spans = [(t["started_at"], t["ended_at"]) for t in by_index(scheduler, job).values()]
    assert _max_overlap(spans) <= 2


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def test_a_killed_agents_indices_are_finished_by_another_agent(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    job = scheduler.submit(["sleep", "0.5"], sweep="1-24")
    deadline = time.monotonic() + WAIT
    while not any(t.get("node") == "local-1" and t["state"] == "Running" for t in scheduler.tasks(job)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cluster.kill("agent:local-1", signal.SIGKILL)
    try:
        view = scheduler.wait(job, timeout=WAIT, interval=0.2)
        assert view["state"] == "Finished"
        tasks = by_index(scheduler, job)
        assert sorted(tasks) == list(range(1, 25)) and all(t["state"] == "Finished" for t in tasks.values())
        assert any(t["attempt"] > 1 for t in tasks.values())  # re-leased after local-1 went silent
    finally:
        cluster.start_agent("local-1", slots=2)


def test_a_runtime_killed_mid_sweep_restarts_and_records_every_index_once(
    cluster: LocalCluster, scheduler: Scheduler
) -> None:
    job = scheduler.submit(["sleep", "0.05"], sweep="1-300")
    deadline = time.monotonic() + WAIT
    while scheduler.view_job(job)["counts"].get("Finished", 0) < 20:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cluster.kill("devhost", signal.SIGKILL)
    cluster.start_runtime()
    view = scheduler.wait(job, timeout=WAIT, interval=0.2)
    assert view["state"] == "Finished" and view["counts"]["Finished"] == 300
    tasks = by_index(scheduler, job)
    assert sorted(tasks) == list(range(1, 301))
