"""Process-local running estimate of how long a job's indices take (drives how much a lease takes).

An estimate, not a record: each instance learns from the reports it handles; a fresh instance
leases one index per free slot until it has seen a few results.
"""

from __future__ import annotations

import threading

ALPHA = 0.2  # weight of the newest observation batch


class RuntimeStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mean: dict[str, float] = {}

    def observe(self, job_id: str, durations: list[float]) -> None:
        if not durations:
            return
        batch_mean = sum(durations) / len(durations)
        with self._lock:
            old = self._mean.get(job_id)
            self._mean[job_id] = batch_mean if old is None else old + ALPHA * (batch_mean - old)
            if len(self._mean) > 10_000:  # forget the oldest jobs
                for key in list(self._mean)[:1000]:
                    del self._mean[key]

    def mean(self, job_id: str) -> float | None:
        with self._lock:
            return self._mean.get(job_id)
