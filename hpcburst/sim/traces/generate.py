"""Make the shipped traces, deterministically: ``python -m hpcburst.sim.traces.generate``.

Sizes assume the simulator's default pool (10 nodes × 4 slots) beside 8 on-premises slots.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from hpcburst.sim.trace import TraceJob, write_trace

HERE = Path(__file__).parent


def steady() -> list[TraceJob]:
    # a job of 6 indices × 3 min every minute: ~18 busy slots, 1 in 10 jobs pinned on-premises
    return [
        TraceJob(submit_time=60.0 * k, indices=6, duration=180, never_burst=k % 10 == 0) for k in range(120)
    ]


def one_burst() -> list[TraceJob]:
    # an hour of trickle, one 400-index burst, then another hour of trickle
    trickle = [
        TraceJob(submit_time=300.0 * k, indices=2, duration=120, never_burst=k % 2 == 0) for k in range(24)
    ]
    return sorted(
        [*trickle, TraceJob(submit_time=3600, indices=400, duration=120)], key=lambda j: j.submit_time
    )


def square(period_minutes: int) -> list[TraceJob]:
    # 90 min of square waves: during the first half of each period a job of 10 indices × 1 min every 30 s
    # (~20 busy slots: on-premises plus about 3 nodes), then nothing for the second half
    period = 60.0 * period_minutes
    jobs = []
    for start in range(0, 5400, int(period)):
        for t in range(start, start + int(period / 2), 30):
            jobs.append(TraceJob(submit_time=float(t), indices=10, duration=60))
    return jobs


def diurnal() -> list[TraceJob]:
    # a day compressed into 4 h: one job a minute, its size following a sine from 1 to 15 indices
    rng = random.Random(7)
    jobs = []
    for k in range(240):
        size = 1 + round(7 * (1 - math.cos(2 * math.pi * k / 240)))
        jobs.append(TraceJob(submit_time=60.0 * k, indices=size, duration=rng.choice([60, 120, 240]),
                             never_burst=k % 12 == 0))  # fmt: skip
    return jobs


def main() -> None:
    traces = {
        "steady": steady(),
        "one_burst": one_burst(),
        "square_2m": square(2),
        "square_5m": square(5),
        "square_10m": square(10),
        "diurnal": diurnal(),
    }
    for name, jobs in traces.items():
        write_trace(HERE / f"{name}.csv", jobs)


if __name__ == "__main__":
    main()
