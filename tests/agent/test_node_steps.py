"""NodePrep and NodeRelease on the agent: once per job per node, kept across agent restarts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent_fakes import FakeService, run_until_reported

from hpcburst.domain.node_steps import NodeStep
from hpcburst.domain.task_types import TaskType
from nodeagent.agent import Agent


def _step(kind: TaskType, command: str, job: str = "j") -> NodeStep:
    return NodeStep(job=job, task_id=9 if kind == TaskType.NODE_PREP else 8, kind=kind, command=command)


def _marks(task_root: Path) -> Path:
    """A directory the account tasks run as may write to."""
    path = task_root / "marks"
    path.mkdir(mode=0o777)
    path.chmod(0o777)
    return path


def _drive(agent: Agent, until: Callable[[], bool], rounds: int = 400) -> None:
    for _ in range(rounds):
        if until():
            return
        agent.lease_once(wait=0)
        agent.step(0.02)
        agent.report_once()
    raise AssertionError("did not get there")


def test_node_prep_runs_once_before_the_jobs_indices_and_not_again_after_a_restart(
    service: FakeService, make_agent: Callable[..., Agent], task_root: Path
) -> None:
    log = _marks(task_root) / "log"
    prep = _step(TaskType.NODE_PREP, f"sleep 0.2; echo prep >> {log}")
    service.add("j", f"echo index >> {log}", 3, node_prep=prep)
    agent = make_agent(slots=2)
    run_until_reported(agent, service, 3)
    _drive(agent, lambda: bool(service.steps))
    assert log.read_text().splitlines() == ["prep", "index", "index", "index"]
    assert [(s.kind, s.exit_code) for s in service.steps] == [(TaskType.NODE_PREP, 0)]
    service.add("j", f"echo index >> {log}", 1, start=3, node_prep=prep)
    run_until_reported(make_agent(slots=2), service, 4)  # the same node, restarted: its prep is done
    assert log.read_text().count("prep") == 1


def test_a_failed_node_prep_gives_the_jobs_indices_back_and_is_remembered(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    prep = _step(TaskType.NODE_PREP, "exit 3")
    keys = service.add("j", "echo never", 2, node_prep=prep)
    agent = make_agent(slots=2)
    _drive(agent, lambda: len(service.given_back) == 2 and bool(service.steps))
    assert [(s.kind, s.exit_code) for s in service.steps] == [(TaskType.NODE_PREP, 3)]
    assert {r.task for r in service.given_back} == set(keys) and not service.results
    service.queued.clear()
    service.add("j", "echo never", 1, start=5, node_prep=prep)
    _drive(make_agent(slots=2), lambda: len(service.given_back) == 3)  # no second run after a restart
    assert len(service.steps) == 1


def test_node_release_runs_when_the_job_leaves_and_is_owed_across_a_restart(
    service: FakeService, make_agent: Callable[..., Agent], task_root: Path
) -> None:
    log = _marks(task_root) / "log"
    release = _step(TaskType.NODE_RELEASE, f"echo release $CCP_JOBID >> {log}")
    service.add("j", "true", 2, node_release=release)
    agent = make_agent(slots=2)
    run_until_reported(agent, service, 2)
    agent.heartbeat_once()
    assert service.heartbeats[-1].jobs == ["j"] and not log.exists()  # still running: owed
    restarted = make_agent(slots=2)
    service.left["j"] = True
    restarted.heartbeat_once()
    _drive(restarted, lambda: bool(service.steps))
    assert log.read_text() == "release j\n"
    assert [(s.kind, s.exit_code) for s in service.steps] == [(TaskType.NODE_RELEASE, 0)]
    restarted.heartbeat_once()
    assert service.heartbeats[-1].jobs == []  # reported: nothing more owed


def test_a_job_that_leaves_without_release_is_forgotten(
    service: FakeService, make_agent: Callable[..., Agent], task_root: Path
) -> None:
    marks = _marks(task_root)
    release = _step(TaskType.NODE_RELEASE, f"touch {marks}/released")
    service.add("j", "true", 1, node_release=release)
    agent = make_agent(slots=1)
    run_until_reported(agent, service, 1)
    service.left["j"] = False  # canceled with force
    agent.heartbeat_once()
    agent.step(0.1)
    agent.heartbeat_once()
    assert service.heartbeats[-1].jobs == [] and not (marks / "released").exists()
