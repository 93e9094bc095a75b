"""Job templates: defaults fill what a job leaves out, limits refuse what it asks beyond them, by name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hpcburst.domain.job import JobSpec
from hpcburst.domain.states import Priority
from hpcburst.domain.template import JobTemplate, apply_template, empty
from hpcburst.errors import InvalidSpec


def sweep(indices: int = 10, **job) -> JobSpec:
    return JobSpec.model_validate(
        {"tasks": [{"command": "echo *", "sweep": {"start": 1, "end": indices}}], **job}
    )


def test_the_empty_default_template_changes_nothing_but_the_priority_left_out():
    job = apply_template(sweep(), empty())
    assert (job.priority, job.pool, job.template, job.tasks[0].max_run_time) == (
        Priority.NORMAL,
        None,
        "Default",
        None,
    )


def test_defaults_fill_what_the_job_leaves_out_and_never_override_what_it_says():
    template = JobTemplate(name="render", priority=Priority.BELOW_NORMAL, pool="gpu", max_run_time=600)
    filled = apply_template(sweep(), template)
    assert (filled.priority, filled.pool, filled.tasks[0].max_run_time) == (Priority.BELOW_NORMAL, "gpu", 600)
    own = apply_template(sweep(priority="AboveNormal", pool="cpu"), template)
    assert (own.priority, own.pool) == (Priority.ABOVE_NORMAL, "cpu")


@pytest.mark.parametrize(
    ("job", "field", "words"),
    [
        ({"priority": "Highest"}, "priority", "priority Highest is not allowed by template 'limited'"),
        ({"pool": "gpu"}, "pool", "pool gpu is not allowed"),
        ({"indices": 101}, "tasks", "101 indices exceed the 100 allowed"),
        ({"max_run_time": 7200}, "tasks.0.max_run_time", "7200 s per index exceeds the 3600 s allowed"),
    ],
)
def test_a_job_breaking_a_limit_is_refused_naming_the_field_and_the_limit(job, field, words):
    template = JobTemplate(name="limited", allowed_priorities=[Priority.LOWEST, Priority.NORMAL], max_indices=100,
                           max_runtime=3600, allowed_pools=["cpu"])  # fmt: skip
    indices = job.pop("indices", 10)
    run_time = job.pop("max_run_time", None)
    spec = sweep(indices, pool=job.pop("pool", "cpu"), **job)
    if run_time:
        spec = spec.model_copy(
            update={"tasks": [spec.tasks[0].model_copy(update={"max_run_time": run_time})]}
        )
    with pytest.raises(InvalidSpec, match=words) as refused:
        apply_template(spec, template)
    assert refused.value.details["field"] == field


def test_a_maximum_run_time_is_also_the_limit_of_indices_that_set_none():
    job = apply_template(sweep(pool="cpu"), JobTemplate(name="t", max_runtime=3600))
    assert job.tasks[0].max_run_time == 3600


def test_a_template_whose_defaults_break_its_own_limits_is_refused():
    with pytest.raises(ValidationError, match="default priority"):
        JobTemplate(name="odd", priority=Priority.HIGHEST, allowed_priorities=[Priority.LOWEST])
    with pytest.raises(ValidationError, match="default run time"):
        JobTemplate(name="odd", max_run_time=10, max_runtime=5)
