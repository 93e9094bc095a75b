"""Job templates (HPC Pack's job templates): named defaults a job gets, and limits it must keep.

Every job is submitted under a template: the one it names, else ``Default``. A template nobody created is
empty (no defaults, no limits), so clusters without templates behave as before. Applying a template:
- defaults fill what the job leaves out (priority, pool, an index's run-time limit);
- limits refuse what the job asks beyond them, each with the field and the limit named (HTTP 400):
  allowed priorities, the most indices, the longest run time per index, the pools a job may name.
A limit an admin sets binds every user; a default is only a default.
Stored in container ``templates`` (one partition, id = name).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hpcburst.domain.job import JobSpec
from hpcburst.domain.pool import POOL_NAME
from hpcburst.domain.states import Priority
from hpcburst.domain.sweep import index_count
from hpcburst.errors import InvalidSpec

DEFAULT_TEMPLATE = "Default"
TEMPLATE_NAME = POOL_NAME  # the same rule as pool names: letters, digits and . _ -


class TemplateSpec(BaseModel):
    """What an admin sets on a template."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=500)
    # defaults
    priority: Priority | None = None
    pool: str | None = Field(default=None, max_length=100)
    max_run_time: float | None = Field(default=None, gt=0, description="default seconds per index")
    # limits
    allowed_priorities: list[Priority] | None = Field(default=None, min_length=1)
    max_indices: int | None = Field(default=None, ge=1)
    max_runtime: float | None = Field(default=None, gt=0, description="longest run time per index, seconds")
    allowed_pools: list[str] | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _defaults_within_limits(self) -> TemplateSpec:
        if self.priority and self.allowed_priorities and self.priority not in self.allowed_priorities:
            raise ValueError(f"the default priority {self.priority.value} is not among the allowed ones")
        if self.pool and self.allowed_pools and self.pool not in self.allowed_pools:
            raise ValueError(f"the default pool {self.pool!r} is not among the allowed pools")
        if self.max_run_time and self.max_runtime and self.max_run_time > self.max_runtime:
            raise ValueError("the default run time exceeds the maximum run time")
        return self


class JobTemplate(TemplateSpec):
    name: str = Field(pattern=TEMPLATE_NAME)
    created_at: float = 0.0


class NewTemplate(TemplateSpec):
    """POST /api/templates"""

    name: str = Field(pattern=TEMPLATE_NAME)


def empty(name: str = DEFAULT_TEMPLATE) -> JobTemplate:
    return JobTemplate(name=name)


def apply_template(spec: JobSpec, template: JobTemplate) -> JobSpec:
    """The job as submitted under ``template``: its defaults filled in, its limits checked (InvalidSpec)."""
    named = f"template {template.name!r}"
    priority = spec.priority or template.priority or Priority.NORMAL
    if template.allowed_priorities is not None and priority not in template.allowed_priorities:
        allowed = ", ".join(p.value for p in template.allowed_priorities)
        raise InvalidSpec(
            f"priority {priority.value} is not allowed by {named} (allowed: {allowed})", field="priority"
        )
    pool = spec.pool or template.pool
    if template.allowed_pools is not None and pool not in template.allowed_pools:
        allowed = ", ".join(template.allowed_pools)
        raise InvalidSpec(
            f"pool {pool or '(any)'} is not allowed by {named} (allowed: {allowed})", field="pool"
        )
    total = sum(index_count(t) for t in spec.tasks)
    if template.max_indices is not None and total > template.max_indices:
        raise InvalidSpec(
            f"{total} indices exceed the {template.max_indices} allowed by {named}", field="tasks"
        )
    tasks = []
    for number, task in enumerate(spec.tasks):
        run_time = task.max_run_time or template.max_run_time or template.max_runtime
        if template.max_runtime is not None and run_time is not None and run_time > template.max_runtime:
            raise InvalidSpec(
                f"a run time of {run_time:g} s per index exceeds the {template.max_runtime:g} s allowed by {named}",
                field=f"tasks.{number}.max_run_time",
            )
        tasks.append(
            task if run_time == task.max_run_time else task.model_copy(update={"max_run_time": run_time})
        )
    return spec.model_copy(
        update={"priority": priority, "pool": pool, "tasks": tasks, "template": template.name}
    )
