"""The local Functions runtime: runs a v2 ``function_app.py`` with HTTP, queue, timer and Durable triggers.

``DevHost`` (server.py) is the in-process entry point; ``hpcburst devhost`` / ``python -m hpcburst.devhost``
run it as a process (runner.py, started by command.py). The runtime imports nothing from ``hpcburst.cli``.
``DevHost`` is imported on first use, so the CLI can mount the command without loading the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpcburst.devhost.server import DevHost

__all__ = ["DevHost"]


def __getattr__(name: str) -> object:
    if name == "DevHost":
        from hpcburst.devhost.server import DevHost

        return DevHost
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
