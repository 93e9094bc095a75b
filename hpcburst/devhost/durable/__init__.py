"""The Durable Functions engine of the local runtime: replay, persistence, activities, entities, HTTP API.

Interface (docs/DESIGN.md, "Devhost ⇄ Durable engine interface"): :class:`DurableEngine` built from a
:class:`DurableRegistry` (``DurableRegistry.from_functions(app.get_functions())``).
"""

from .engine import DurableEngine
from .registry import DurableRegistry

__all__ = ["DurableEngine", "DurableRegistry"]
