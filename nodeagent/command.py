"""How a task's command line becomes an argv: direct exec when it has no shell syntax, ``/bin/sh -c`` otherwise.

Direct exec saves starting a shell for every index of a sweep (a shell costs as much as the task for `true`).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil

# Anything a shell would interpret (quotes, globs, redirections, variables, pipes, grouping, comments...).
_SHELL_SYNTAX = re.compile(r"""[|&;<>()$`\\"'*?\[\]#~=%{}!\n\t]""")
SHELL = "/bin/sh"


def needs_shell(command: str) -> bool:
    return bool(_SHELL_SYNTAX.search(command))


def argv_for(command: str) -> list[str]:
    """The argv to exec for ``command``: its words, or a shell running it."""
    if needs_shell(command):
        return [SHELL, "-c", command]
    words = shlex.split(command)
    return words if words else [SHELL, "-c", command]


class ExecutableResolver:
    """Finds argv[0] on the task's PATH, caching lookups (a sweep runs the same program thousands of times)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], str | None] = {}

    def resolve(self, name: str, path_var: str | None) -> str | None:
        if "/" in name:
            return name
        key = (name, path_var or "")
        if key not in self._cache:
            self._cache[key] = shutil.which(name, path=path_var if path_var is not None else os.defpath)
        return self._cache[key]

    def forget(self, name: str, path_var: str | None) -> None:
        self._cache.pop((name, path_var or ""), None)
