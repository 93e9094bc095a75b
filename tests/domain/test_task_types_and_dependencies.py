"""The job model's rules: task types, exit codes, dependencies and what is ready to run."""

import pytest
from pydantic import ValidationError

from hpcburst.domain.dependencies import DependencyError, TaskTally, layout, parents_of, plan
from hpcburst.domain.job import JobSpec, TaskSpec
from hpcburst.domain.sweep import index_count
from hpcburst.domain.task_types import TaskType, exit_ok, parse_exit_codes


def _spec(*tasks, **job):
    return JobSpec.model_validate({"tasks": list(tasks), **job})


# --- task types ---
def test_a_spec_without_a_type_is_a_sweep_with_a_sweep_and_basic_without_one():
    spec = _spec({"command": "a"}, {"command": "b *", "sweep": {"start": 1, "end": 2}})
    assert [t.type for t in spec.tasks] == [TaskType.BASIC, TaskType.PARAMETRIC_SWEEP]


def test_types_are_read_as_people_type_them():
    assert (
        TaskType("node-prep") == TaskType.NODE_PREP
        and TaskType("parametric_sweep") == TaskType.PARAMETRIC_SWEEP
    )


@pytest.mark.parametrize(
    "task",
    [
        {"type": "ParametricSweep", "command": "x"},  # a sweep needs its range
        {"type": "Basic", "command": "x", "sweep": {"start": 1, "end": 2}},
        {"type": "NodePrep", "command": "x", "retries": 2},
        {"type": "NodeRelease", "command": "x", "stdout": "out.txt"},
    ],
)
def test_a_type_that_does_not_fit_its_fields_is_refused(task):
    with pytest.raises(ValidationError):
        _spec({"command": "main"}, task)


def test_node_tasks_have_no_indices_and_a_job_needs_more_than_them():
    prep = TaskSpec(type="NodePrep", command="p")
    assert index_count(prep) == 0
    with pytest.raises(ValidationError, match="besides its node tasks"):
        _spec({"type": "NodePrep", "command": "p"})
    with pytest.raises(ValidationError, match="at most one NodeRelease"):
        _spec(
            {"command": "x"}, {"type": "NodeRelease", "command": "r"}, {"type": "NodeRelease", "command": "r"}
        )


def test_the_job_environment_is_checked_like_a_tasks():
    with pytest.raises(ValidationError, match="not valid"):
        _spec({"command": "x"}, environment={"A=B": "1"})


# --- exit codes ---
def test_valid_exit_codes_take_codes_and_inclusive_ranges():
    assert parse_exit_codes("0,3..5") == [(0, 0), (3, 5)]
    assert [exit_ok(code, "0,3..5") for code in (0, 1, 3, 5, 6, None)] == [
        True,
        False,
        True,
        True,
        False,
        False,
    ]
    assert exit_ok(7, "min..max") and exit_ok(0, None) and not exit_ok(1, None)


@pytest.mark.parametrize("text", ["", "0,", "3..1", "a", "1..2..3", "99999999999"])
def test_bad_exit_code_syntax_is_refused_naming_the_part(text):
    with pytest.raises(ValueError):
        parse_exit_codes(text)
    with pytest.raises(ValidationError, match="valid_exit_codes"):
        _spec({"command": "x", "valid_exit_codes": text})


# --- dependencies ---
def test_parents_come_from_names_and_from_groups():
    spec = _spec(
        {"name": "a", "command": "x", "group": 1},
        {"name": "b", "command": "x", "group": 1},
        {"command": "x", "group": 2, "depends_on": ["a"]},
        {"command": "x", "depends_on": ["b"]},
        group_dependencies=[{"parent": 1, "child": 2}],
    )
    assert parents_of(spec.tasks, spec.group_dependencies) == {
        1: frozenset(), 2: frozenset(), 3: frozenset({1, 2}), 4: frozenset({2})
    }  # fmt: skip


@pytest.mark.parametrize(
    ("tasks", "groups", "field"),
    [
        ([{"command": "x", "depends_on": ["nobody"]}], [], "tasks[0].depends_on"),
        ([{"name": "a", "command": "x"}, {"name": "a", "command": "x"}, {"command": "x", "depends_on": ["a"]}], [],
         "tasks[2].depends_on"),
        ([{"name": "a", "command": "x", "depends_on": ["b"]}, {"name": "b", "command": "x", "depends_on": ["a"]}], [],
         "tasks[0].depends_on"),
        ([{"command": "x", "group": 1}], [{"parent": 1, "child": 9}], "group_dependencies[0]"),
        ([{"command": "x", "group": 1}, {"type": "NodePrep", "command": "p", "group": 2}],
         [{"parent": 1, "child": 2}], "tasks[1]"),
    ],
)  # fmt: skip
def test_a_dependency_that_cannot_hold_names_its_field(tasks, groups, field):
    with pytest.raises(ValidationError) as raised:
        _spec(*tasks, group_dependencies=groups)
    cause = raised.value.errors()[0]["ctx"]["error"]
    assert isinstance(cause, DependencyError) and cause.field == field


def test_layout_puts_parents_first_and_otherwise_keeps_job_order():
    assert layout({1: frozenset({3}), 2: frozenset(), 3: frozenset()}) == [2, 3, 1]
    assert layout({1: frozenset(), 2: frozenset()}) == [1, 2]


CHAIN = {1: frozenset(), 2: frozenset({1}), 3: frozenset({2})}


def test_a_child_is_ready_only_when_every_index_of_its_parent_has_finished():
    assert plan(CHAIN, {1: TaskTally(total=3, ended=2), 2: TaskTally(total=1)}, False).ready == []
    assert plan(CHAIN, {1: TaskTally(total=3, ended=3), 2: TaskTally(total=1)}, False).ready == [2]


def test_with_fail_dependent_tasks_a_failed_parent_dooms_its_descendants_at_once():
    tallies = {1: TaskTally(total=3, ended=1, failed=1), 2: TaskTally(total=1)}
    decided = plan(CHAIN, tallies, True)
    assert (decided.ready, decided.doomed) == ([], [2, 3])


def test_without_it_a_failed_parent_that_ended_still_releases_its_children():
    tallies = {1: TaskTally(total=3, ended=3, failed=1), 2: TaskTally(total=1)}
    decided = plan(CHAIN, tallies, False)
    assert (decided.ready, decided.doomed) == ([2], [])
