"""Traces: CSV files with header ``submit_time,indices,duration,never_burst``, one row per job.

``submit_time`` and ``duration`` (per index) are seconds; the shipped traces live in ``traces/`` and are
made by ``python -m hpcburst.sim.traces.generate``.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

HEADER = ["submit_time", "indices", "duration", "never_burst"]
SHIPPED = ["steady", "one_burst", "square_2m", "square_5m", "square_10m", "diurnal"]


class TraceJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    submit_time: float = Field(ge=0)
    indices: int = Field(ge=1)
    duration: float = Field(gt=0)
    never_burst: bool = False


def shipped_traces() -> list[str]:
    return list(SHIPPED)


def _traces_dir() -> Path:
    return Path(str(resources.files("hpcburst.sim") / "traces"))


def load_trace(file_or_name: str) -> list[TraceJob]:
    """Read a trace from a CSV path, or a shipped trace by name (``steady``, ``square_5m`` ...)."""
    path = Path(file_or_name)
    if not path.exists() and file_or_name in SHIPPED:
        path = _traces_dir() / f"{file_or_name}.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    jobs = [
        TraceJob(
            submit_time=float(r["submit_time"]),
            indices=int(r["indices"]),
            duration=float(r["duration"]),
            never_burst=r["never_burst"].strip().lower() in ("1", "true", "yes"),
        )
        for r in rows
    ]
    return sorted(jobs, key=lambda j: j.submit_time)


def write_trace(path: Path, jobs: list[TraceJob]) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for j in jobs:
            out.writerow([f"{j.submit_time:g}", j.indices, f"{j.duration:g}", int(j.never_burst)])
