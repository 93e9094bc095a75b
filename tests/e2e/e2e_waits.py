"""What the end-to-end tests read a cluster with: wait until something holds, and a job's indices by index."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from hpcburst.client import Scheduler

WAIT = 60.0
T = TypeVar("T")


def until(what: Callable[[], T | None], why: str = "a condition", timeout: float = WAIT) -> T:
    """Poll ``what`` until it returns something truthy (and return that), or fail saying ``why``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:.0f} s: {why}")


def by_index(s: Scheduler, job: str) -> dict[int, dict[str, Any]]:
    tasks = list(s.tasks(job))
    assert len({t["id"] for t in tasks}) == len(tasks)  # each index recorded once
    return {t["index"]: t for t in tasks}
