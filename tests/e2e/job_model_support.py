"""Helpers for the job model e2e tests: marker directories the tasks' unprivileged account may write to,
and what a task's shell needs to know which node it is on."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster

WAIT = 90.0
NODE = "set -- $CCP_NODES; node=$2"  # CCP_NODES is "1 <node> 1"


def marks(cluster: LocalCluster) -> Path:
    """A fresh directory under the cluster, writable by the account tasks run as."""
    path = cluster.data_dir / f"marks-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    path.chmod(0o777)
    return path


def submit_and_wait(s: Scheduler, spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    job = s.submit_job(spec)
    return job, s.wait(job, timeout=WAIT, interval=0.1)


def tasks_of(s: Scheduler, job: str) -> dict[tuple[int, int], dict[str, Any]]:
    return {(t["task"], t["index"]): t for t in s.tasks(job)}


def files_appear(directory: Path, pattern: str, count: int, within: float = 15.0) -> list[Path]:
    """The files matching ``pattern`` once there are ``count`` of them (or whatever is there at the end)."""
    deadline = time.monotonic() + within
    while True:
        found = sorted(directory.glob(pattern))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
