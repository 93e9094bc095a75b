"""Building job specs on the client: drafts that validate into ``JobSpec`` with errors naming the field."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hpcburst.domain.job import JobSpec, SweepRange, TaskSpec
from hpcburst.domain.task_types import FieldError
from hpcburst.errors import InvalidSpec

_SWEEP = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*(?::\s*(\d+))?\s*$")
_SAFE_WORD = re.compile(r"^[\w@%+=:,./*-]+$")  # `*` stays bare: the scheduler replaces it with the index


def parse_sweep(text: str) -> SweepRange:
    """``START-END[:STEP]`` (HPC Pack's /parametric:1-100:2)."""
    match = _SWEEP.match(text)
    if not match:
        raise InvalidSpec(f"--sweep {text!r}: use START-END[:STEP], e.g. 1-100 or 0-1000:10")
    start, end, step = int(match[1]), int(match[2]), int(match[3] or 1)
    return _validated(SweepRange, {"start": start, "end": end, "step": step}, "--sweep")


def command_line(argv: list[str] | tuple[str, ...]) -> str:
    """One command line from argv. A single word is taken verbatim (``"echo * | wc -c"``); otherwise words
    are quoted as the shell needs, except that a bare ``*`` stays bare so the index lands unquoted."""
    if len(argv) == 1:
        return argv[0]
    return " ".join(w if _SAFE_WORD.match(w) and "^*" not in w else shlex.quote(w) for w in argv)


def task_spec(command: str | list[str], sweep: Any = None, **fields: Any) -> dict[str, Any]:
    """A validated task spec as a dict (``sweep``: "1-10:2", (start, end[, step]) or a mapping)."""
    if isinstance(command, list | tuple):
        command = command_line(list(command))
    if isinstance(sweep, str):
        sweep = parse_sweep(sweep).model_dump()
    elif isinstance(sweep, list | tuple):
        sweep = dict(zip(("start", "end", "step"), sweep, strict=False))
    body = {"command": command, "sweep": sweep, **fields}
    spec = _validated(TaskSpec, {k: v for k, v in body.items() if v is not None}, "task")
    return spec.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"command": spec.command}


@dataclass
class JobDraft:
    """HPC Pack's ISchedulerJob before SubmitJob: job properties plus tasks."""

    name: str | None = None
    priority: str | None = None  # None: the template's default, else Normal
    pool: str | None = None
    owner: str | None = None
    template: str | None = None  # None: the cluster's Default template
    never_burst: bool = False  # keep the job on on-premises nodes: a cloud node never runs it
    shared_workdir: bool = False  # the job's indices on a node share one directory
    environment: dict[str, str] = field(default_factory=dict)  # every task's; a task's own override it
    runtime: float | None = None  # seconds the job may run once started; then it fails
    fail_dependent_tasks: bool = False  # a failed parent cancels its dependent tasks
    group_dependencies: list[dict[str, int]] = field(default_factory=list)  # {"parent": g, "child": g}
    tasks: list[dict[str, Any]] = field(default_factory=list)

    def add_task(self, task: dict[str, Any] | TaskSpec) -> None:
        self.tasks.append(
            task.model_dump(mode="json", exclude_none=True) if isinstance(task, TaskSpec) else task
        )

    def to_spec(self) -> JobSpec:
        if not self.tasks:
            raise InvalidSpec("the job has no tasks: add one with add_task(create_task(...))")
        body = {"name": self.name, "priority": self.priority, "pool": self.pool, "owner": self.owner,
                "template": self.template,
                "never_burst": self.never_burst or None, "shared_workdir": self.shared_workdir or None,
                "environment": self.environment or None, "runtime": self.runtime,
                "fail_dependent_tasks": self.fail_dependent_tasks or None,
                "group_dependencies": self.group_dependencies or None}  # fmt: skip
        return _validated(
            JobSpec, {**{k: v for k, v in body.items() if v is not None}, "tasks": self.tasks}, "job"
        )


def _validated(model: Any, body: dict[str, Any], what: str) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as e:
        first = e.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):  # a rule over several fields names the one that is wrong
            raise InvalidSpec(f"{what}.{cause}", field=cause.field) from None
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidSpec(f"{what}{'.' + where if where else ''}: {first['msg']}") from None


def job_spec(body: dict[str, Any]) -> JobSpec:
    """A whole job spec (e.g. read from ``hpcburst job submit --json job.json``), validated."""
    return _validated(JobSpec, body, "job")  # type: ignore[no-any-return]
