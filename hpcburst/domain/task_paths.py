"""Where a task may touch its node's file system: the path rules a job is checked against at submit (pure).

On a node every index runs in its own directory (or its job's shared one). Every path of a task that the
agent resolves there - ``workdir``, ``stdout``, ``stderr``, each input's ``path`` and each output's
``pattern`` - must stay inside that directory: relative, no ``..``, no drive letter, no NUL, and a
backslash counts as a separator (``check_relative``). An absolute ``workdir`` is the one exception, and only
inside a root an administrator allowed for the pool; ``stdout`` and ``stderr`` are always relative.

Sweep substitution turns a star run into digits and ``^*`` into a literal star, neither of which can make a
path climb, so a sweep's paths are checked once substituted for any index. The agent checks again when it
uses a path, since only there can it see a symbolic link a task planted.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from hpcburst.domain.job import JobSpec, TaskSpec
from hpcburst.domain.staging import check_relative
from hpcburst.domain.sweep import substitute
from hpcburst.errors import InvalidSpec

_DRIVE = re.compile(r"^[A-Za-z]:")


def validate_task_paths(spec: JobSpec, allowed_roots: Sequence[str]) -> None:
    """Raise InvalidSpec naming the first bad field (``tasks.0.workdir``) of ``spec``.

    ``allowed_roots``: the absolute directories an administrator allowed for the job's pool; an absolute
    ``workdir`` must be one of them or below one (compared as normalized POSIX paths)."""
    for t, task in enumerate(spec.tasks):
        where = f"tasks.{t}"
        if task.workdir is not None:
            _workdir(task, task.workdir, allowed_roots, spec.pool, f"{where}.workdir")
        for stream in ("stdout", "stderr"):
            path = getattr(task, stream)
            if path is not None:
                _relative(task, path, f"{where}.{stream}", stream)
        for i, item in enumerate(task.input_files):
            _relative(task, item.path, f"{where}.input_files.{i}.path", "input path")
        for i, out in enumerate(task.output_files):
            _relative(task, out.pattern, f"{where}.output_files.{i}.pattern", "output pattern")


def is_absolute(path: str) -> bool:
    """An absolute path on any platform a user may have written it for (``/x``, ``\\\\host\\x``, ``C:``)."""
    return path.startswith(("/", "\\")) or bool(_DRIVE.match(path))


def inside_root(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it, both absolute and normalized first (``/data/../etc`` is not in /data)."""
    path, root = _normalized(path), _normalized(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def _workdir(task: TaskSpec, path: str, roots: Sequence[str], pool: str | None, field: str) -> None:
    text = _as_run(task, path)
    if "\0" in text:
        raise InvalidSpec(f"{field}: the path contains a NUL character", field=field)
    if not is_absolute(text):
        _relative(task, path, field, "workdir")
        return
    if "\\" in text or _DRIVE.match(text):
        raise InvalidSpec(f"{field}: {path!r} is not a POSIX path; nodes run Linux", field=field)
    if not any(posixpath.isabs(r) and inside_root(text, r) for r in roots):
        on = f"pool {pool!r}" if pool else "the default pool"
        raise InvalidSpec(
            f"{field}: absolute working directory {path!r} is not allowed on {on}: use a path relative to "
            "the task's own directory, or an administrator must allow the path for the pool",
            field=field,
        )


def _relative(task: TaskSpec, path: str, field: str, what: str) -> None:
    try:
        check_relative(_as_run(task, path), what)
    except InvalidSpec as e:
        raise InvalidSpec(f"{field}: {e.message}", field=field) from None


def _as_run(task: TaskSpec, text: str) -> str:
    # As the agent gets it: a basic task's stars are literal, a sweep's are digits for any index.
    return text if task.sweep is None else substitute(text, 0)


def _normalized(path: str) -> str:
    # normpath keeps a leading "//" (POSIX leaves its meaning to the system): treat it as "/".
    return "/" + posixpath.normpath(path).lstrip("/")
