"""Placeholder until the confinement branch lands: absolute workdirs only inside a pool's allowed roots."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from hpcburst.domain.job import JobSpec
from hpcburst.errors import InvalidSpec


def validate_task_paths(spec: JobSpec, allowed_roots: Sequence[str]) -> None:
    for n, task in enumerate(spec.tasks):
        if task.workdir and task.workdir.startswith("/"):
            path = posixpath.normpath(task.workdir)
            if not any(path == r or path.startswith(r.rstrip("/") + "/") for r in allowed_roots):
                raise InvalidSpec(
                    f"tasks.{n}.workdir: {task.workdir!r} is not a path an admin allows for the pool",
                    field=f"tasks.{n}.workdir",
                )
