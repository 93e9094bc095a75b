"""An SOA service: Monte-Carlo estimates of pi, plus echo (the benchmark's no-op).

Deploy it as a package and register it (README, "SOA sessions"):
    hpcburst pkg create soa-example examples/soa/service && hpcburst pkg upload soa-example
    hpcburst service register pi --module pi_service --package soa-example
"""

from __future__ import annotations

import os
import random

from hpcburst.soa import Service

svc = Service("pi")


@svc.operation
def echo(value):  # type: ignore[no-untyped-def]
    return value


@svc.operation
def estimate(samples: int, seed: int) -> float:
    """pi from ``samples`` random points in the unit square; deterministic for a seed."""
    rng = random.Random(seed)
    inside = sum(1 for _ in range(samples) if rng.random() ** 2 + rng.random() ** 2 <= 1.0)
    return 4.0 * inside / samples


@svc.operation
def where() -> dict[str, str]:
    """Which host answered: the variables HPC Pack gave service hosts, and the process."""
    return {
        "service": os.environ.get("CCP_SERVICENAME", ""),
        "session": os.environ.get("HPC_SESSIONID", ""),
        "pid": str(os.getpid()),
    }
