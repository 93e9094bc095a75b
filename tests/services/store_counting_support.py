"""A state store wrapper that counts what a service reads of the tasks container (what a lease pass costs)."""

from __future__ import annotations

from typing import Any

from hpcburst import constants as c


class QueryCounting:
    """Delegates to a real store; ``task_queries`` counts its task queries and counts."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.task_queries = inner, 0

    def query(self, container: str, *args: Any, **kwargs: Any) -> Any:
        self.task_queries += container == c.TASKS
        return self.inner.query(container, *args, **kwargs)

    def count(self, container: str, *args: Any, **kwargs: Any) -> Any:
        self.task_queries += container == c.TASKS
        return self.inner.count(container, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
