"""Job specs validate on the way in; errors name the field that is wrong."""

import pytest
from pydantic import ValidationError

from hpcburst.domain.job import JobSpec, TaskSpec
from hpcburst.domain.protocol import LeaseRequest
from hpcburst.domain.states import JobState, Priority, TaskState
from hpcburst.domain.task import parse_task_key, task_key


def _error_fields(exc: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.errors()]


def test_a_minimal_sweep_job_gets_defaults():
    spec = JobSpec(tasks=[{"command": "echo *", "sweep": {"start": 1, "end": 3}}])
    assert spec.priority is None, "left to the job's template, whose default is Normal"
    assert spec.tasks[0].sweep.step == 1
    assert spec.tasks[0].retries == 0
    assert spec.never_burst is False


def test_argv_becomes_a_quoted_command_line():
    spec = TaskSpec(command=["echo", "a b", "*"])
    assert spec.command == "echo 'a b' '*'"


@pytest.mark.parametrize("given", ["Highest", "highest", "above-normal", "BelowNormal", "below_normal"])
def test_priority_names_are_forgiving(given):
    assert JobSpec(priority=given, tasks=[{"command": "x"}]).priority in Priority


def test_priorities_rank_lowest_to_highest():
    ranks = [p.rank for p in Priority]
    assert ranks == sorted(ranks)
    assert Priority.HIGHEST.rank > Priority.NORMAL.rank


@pytest.mark.parametrize(
    ("sweep", "field"),
    [
        ({"start": 1, "end": 5, "step": 0}, "tasks.0.sweep.step"),
        ({"start": 1, "end": 5, "step": -1}, "tasks.0.sweep.step"),
        ({"start": 5, "end": 1}, "tasks.0.sweep"),
        ({"start": -1, "end": 1}, "tasks.0.sweep.start"),
    ],
)
def test_a_bad_sweep_names_its_field(sweep, field):
    with pytest.raises(ValidationError) as info:
        JobSpec(tasks=[{"command": "x", "sweep": sweep}])
    assert field in _error_fields(info.value)


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"command": ""}, "tasks.0.command"),
        ({"command": "   "}, "tasks.0.command"),
        ({"command": "x", "max_running": 0}, "tasks.0.max_running"),
        ({"command": "x", "retries": -1}, "tasks.0.retries"),
        ({"command": "x", "max_run_time": 0}, "tasks.0.max_run_time"),
        ({"command": "x", "environment": {"A=B": "1"}}, "tasks.0.environment"),
        ({"command": "x", "colour": "red"}, "tasks.0.colour"),
    ],
)
def test_a_bad_task_names_its_field(task, field):
    with pytest.raises(ValidationError) as info:
        JobSpec(tasks=[task])
    assert field in _error_fields(info.value)


def test_a_job_needs_a_task_and_a_known_priority():
    with pytest.raises(ValidationError) as info:
        JobSpec(tasks=[], priority="urgent")
    assert {"tasks", "priority"} <= set(_error_fields(info.value))


def test_a_job_may_not_hold_more_than_ten_million_indices():
    with pytest.raises(ValidationError, match="at most"):
        JobSpec(tasks=[{"command": "x", "sweep": {"start": 0, "end": 10_000_000}}])


def test_task_keys_round_trip():
    assert parse_task_key(task_key("42", 1, 7)) == ("42", 1, 7)


def test_terminal_states():
    assert {s for s in TaskState if s.terminal} == {TaskState.FINISHED, TaskState.FAILED, TaskState.CANCELED}
    assert JobState.CANCELED.terminal and not JobState.RUNNING.terminal


def test_node_names_cannot_carry_path_characters():
    with pytest.raises(ValidationError):
        LeaseRequest(node="a/b", free_slots=1)


def test_a_burstable_pool_reads_as_the_burst_policys_pool() -> None:
    from hpcburst.domain.pool import BurstSettings, Pool

    pool = Pool(name="cloud", created_at=1.0, burst=BurstSettings(provisioner="azure", max_nodes=4, spot=True,
                                                                  vm_size="Standard_D4s_v5", cost_cap_per_hour=2))  # fmt: skip
    policy = pool.burst_pool()
    assert policy is not None and (policy.name, policy.max_nodes, policy.spot) == ("cloud", 4, True)
    assert policy.cost_cap_per_hour == 2 and Pool(name="plain", created_at=1.0).burst_pool() is None


def test_a_pool_sets_its_own_backoff_after_boot_failures_and_defaults_to_the_policys() -> None:
    from hpcburst.domain.burst import BurstPool
    from hpcburst.domain.pool import BurstSettings, Pool

    quick = Pool(name="cloud", created_at=1.0, burst=BurstSettings(provisioner="local", backoff_base=3))
    assert quick.burst_pool() is not None and quick.burst_pool().backoff_base == 3  # type: ignore[union-attr]
    assert BurstSettings(provisioner="local").backoff_base == BurstPool(name="cloud").backoff_base
