"""A test service: echoes, arithmetic, faults, retries, prints, slow calls and common data."""

from __future__ import annotations

import os
import sys
import threading
import time

from hpcburst.soa import RetryOperation, Service
from hpcburst.soa.service import common_data, common_data_path

svc = Service("calc")
started: list[str] = []
_active = [0, 0]  # calls running now, most at once
_lock = threading.Lock()


@svc.on_start
def remember_start() -> None:
    started.append(os.environ.get("HPC_SESSIONID", ""))


@svc.operation
def echo(x: object) -> object:
    return x


@svc.operation(name="Add")
def add(a: int, b: int = 0) -> int:
    return a + b


@svc.operation
def noop() -> None:
    return None


@svc.operation
def fail(message: str) -> None:
    raise ValueError(message)


@svc.operation
def retry_me() -> None:
    raise RetryOperation("not on this host")


@svc.operation
def chatty(x: int) -> int:
    print("hello from user code", x)  # must not reach the protocol pipe
    sys.stdout.write("more\n")
    os.write(1, b"raw bytes to fd 1\n")
    return x


@svc.operation
def env(name: str) -> str | None:
    return os.environ.get(name)


@svc.operation
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@svc.operation
def overlap(seconds: float) -> int:
    """Sleeps, and says how many calls ran at once at most so far."""
    with _lock:
        _active[0] += 1
        _active[1] = max(_active[1], _active[0])
    time.sleep(seconds)
    with _lock:
        _active[0] -= 1
        return _active[1]


@svc.operation
def started_for() -> list[str]:
    return started


@svc.operation
def data(name: str) -> str:
    return common_data(name).decode()


@svc.operation
def data_path(name: str) -> str:
    return str(common_data_path(name))


@svc.operation
def unjsonable() -> object:
    return {1, 2}


@svc.operation
def pid() -> int:
    return os.getpid()


@svc.operation
def whoami() -> list[int]:
    return [os.getuid(), os.getgid()]
