"""Client-side job specs: sweeps, command lines, and errors that name the field."""

from __future__ import annotations

import pytest

from hpcburst.client import Scheduler, command_line, parse_sweep
from hpcburst.errors import InvalidSpec


def test_a_sweep_is_start_end_and_an_optional_step() -> None:
    assert parse_sweep("1-100").model_dump() == {"start": 1, "end": 100, "step": 1}
    assert parse_sweep("0-1000:10").model_dump() == {"start": 0, "end": 1000, "step": 10}


@pytest.mark.parametrize("text", ["", "10", "5-1", "1-10:0", "a-b", "-1-3"])
def test_a_bad_sweep_names_the_flag_and_the_form(text: str) -> None:
    with pytest.raises(InvalidSpec, match="--sweep"):
        parse_sweep(text)


def test_argv_becomes_one_command_line_with_the_star_left_for_the_index() -> None:
    assert command_line(["echo", "*"]) == "echo *"
    assert command_line(["render", "--frame", "frame***.rib"]) == "render --frame frame***.rib"
    assert command_line(["echo", "a b", "^*"]) == "echo 'a b' '^*'"
    assert command_line(["echo * | wc -c"]) == "echo * | wc -c"  # one word: taken verbatim


def test_jobs_are_drafted_as_in_hpc_pack_and_validated_before_submission() -> None:
    scheduler = Scheduler("http://127.0.0.1:9")  # nothing is sent until submit_job
    job = scheduler.create_job(name="render", priority="above-normal", pool="gpu")
    job.add_task(
        scheduler.create_task(["render", "*"], sweep=(1, 64), max_running=8, retries=2, max_run_time=60)
    )
    spec = job.to_spec()
    assert spec.priority == "AboveNormal" and spec.pool == "gpu"
    (task,) = spec.tasks
    assert task.command == "render *" and task.sweep is not None and task.sweep.end == 64
    assert (task.max_running, task.retries, task.max_run_time) == (8, 2, 60)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"max_running": 0}, "max_running"),
        ({"retries": -1}, "retries"),
        ({"max_run_time": 0}, "max_run_time"),
    ],
)
def test_a_bad_task_field_is_named(fields: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidSpec, match=field):
        Scheduler("http://127.0.0.1:9").create_task("true", **fields)


def test_a_job_without_tasks_says_how_to_add_one() -> None:
    with pytest.raises(InvalidSpec, match="add_task"):
        Scheduler("http://127.0.0.1:9").create_job().to_spec()


def test_a_never_burst_job_says_so_in_its_spec_and_an_ordinary_one_leaves_it_out() -> None:
    scheduler = Scheduler("http://127.0.0.1:9")
    pinned = scheduler.create_job(never_burst=True)
    pinned.add_task(scheduler.create_task("true"))
    assert pinned.to_spec().never_burst is True
    ordinary = scheduler.create_job()
    ordinary.add_task(scheduler.create_task("true"))
    assert "never_burst" not in ordinary.to_spec().model_dump(exclude_defaults=True)
