"""What a service author writes: a ``Service`` with operations, ``RetryOperation`` and the session's common data.

    from hpcburst.soa import Service, RetryOperation, common_data

    svc = Service("echo")          # one per module: the host finds the module-level instance

    @svc.operation
    def echo(x):
        return x

    @svc.operation(name="Add")
    def add(a, b):
        return a + b

The service host (``hpcburst.soa.host``) imports the module once, runs ``on_start`` hooks, then calls the
operations. This module stays free of heavy imports: every host imports it before the author's code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

from hpcburst.errors import InvalidState, NotFound

F = TypeVar("F", bound=Callable[..., Any])
DataSource = Callable[[str], Path]

# Outside a host (an author trying their code locally): common data is read from this directory.
ENV_LOCAL_DATA = "HPCBURST_SOA_DATA_DIR"


class RetryOperation(Exception):  # noqa: N818 - HPC Pack's name, which authors know
    """Raise it to have the broker run the request again (on any host), up to the service's resend_limit."""


class Service:
    """A named set of operations (HPC Pack's service contract), found by the host at module level."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.operations: dict[str, Callable[..., Any]] = {}
        self.start_hooks: list[Callable[[], Any]] = []

    @overload
    def operation(self, fn: F, /) -> F: ...

    @overload
    def operation(self, fn: None = None, /, *, name: str | None = None) -> Callable[[F], F]: ...

    def operation(self, fn: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
        """Register ``fn`` as an operation, under ``name`` or its own ``__name__``."""

        def register(f: F) -> F:
            op = name or f.__name__
            if op in self.operations:
                raise ValueError(f"service {self.name!r} already has an operation {op!r}")
            self.operations[op] = f
            return f

        return register if fn is None else register(fn)

    def on_start(self, fn: F) -> F:
        """Run ``fn()`` once per host, after the import and before the first call (HPC Pack's initialisation)."""
        self.start_hooks.append(fn)
        return fn

    def __repr__(self) -> str:
        return f"Service({self.name!r}, operations={sorted(self.operations)})"


_source: DataSource | None = None


def install_data_source(source: DataSource | None) -> None:
    """Where ``common_data_path`` asks (the host installs its pipe to the agent; None: the local fallback)."""
    global _source
    _source = source


def common_data_path(name: str) -> Path:
    """The local file holding the session's published common data ``name``.

    The first call on a node downloads it into the node agent's cache; later calls, and other hosts of the
    session on the node, read the same file. ``NotFound`` when the session has no such data."""
    if _source is not None:
        return _source(name)
    local = os.environ.get(ENV_LOCAL_DATA)
    if local is None:
        raise InvalidState(
            f"common data {name!r} is only available inside a service host (or set {ENV_LOCAL_DATA} to a "
            "directory holding it when trying a service locally)"
        )
    path = Path(local) / name
    if not path.is_file():
        raise NotFound(f"no common data {name!r} in {local}")
    return path


def common_data(name: str) -> bytes:
    """The bytes of the session's common data ``name`` (see ``common_data_path``)."""
    return common_data_path(name).read_bytes()
