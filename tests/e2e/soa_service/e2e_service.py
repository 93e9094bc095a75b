"""The service the SOA end-to-end tests deploy as a package: each operation proves one behaviour."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from hpcburst.soa import RetryOperation, Service, common_data

svc = Service("e2e")


@svc.operation
def echo(value):  # type: ignore[no-untyped-def]
    return value


@svc.operation
def where() -> dict[str, str]:
    """The host that answered, and what HPC Pack told service hosts."""
    return {"pid": str(os.getpid()), "service": os.environ.get("CCP_SERVICENAME", ""),
            "session": os.environ.get("HPC_SESSIONID", "")}  # fmt: skip


@svc.operation
def slow(value, seconds: float):  # type: ignore[no-untyped-def]
    time.sleep(seconds)
    return {"value": value, "pid": os.getpid()}


@svc.operation
def die() -> None:
    """Kills its own host, every time: past the resend limit this is a fault, not a loop."""
    os.kill(os.getpid(), signal.SIGKILL)


@svc.operation
def flaky(marker: str, succeed_on: int) -> int:
    """Asks to be retried until its ``succeed_on``-th call for ``marker`` (counted in a file all its hosts share)."""
    path = Path("/tmp") / f"hpcburst-e2e-flaky-{marker}"  # shared by every host of the session
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls < succeed_on:
        raise RetryOperation(f"call {calls}")
    return calls


@svc.operation
def boom(message: str) -> None:
    raise ValueError(message)


@svc.operation
def read_data(name: str) -> dict[str, object]:
    data = common_data(name)
    return {"size": len(data), "head": data[:16].decode("latin-1"), "pid": os.getpid()}


@svc.operation
def gated(value, gate: str):  # type: ignore[no-untyped-def]
    """Answers only once the file ``gate`` exists (at most a minute): the test opens it when it is ready."""
    deadline = time.monotonic() + 60
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return value
