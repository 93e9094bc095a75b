"""The dead-man switch: a cloud agent that cannot reach the service for a while stops itself.

A burst VM whose controller is gone (deleted, network cut, credentials revoked) would otherwise run and bill
forever. Every successful call to the service resets the switch; ``step(now)`` fires it once ``limit``
seconds pass without one. Firing is the caller's ``fire`` callback: stop the agent (which kills its tasks)
and run the configured ``--on-dead-man`` command (``shutdown -h now`` on cloud images).
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable

log = logging.getLogger("nodeagent")

DEFAULT_MINUTES = 15.0
COMMAND_TIMEOUT = 120.0


class DeadManSwitch:
    def __init__(self, limit: float, fire: Callable[[], None], now: float) -> None:
        """``limit``: seconds without a successful call (0 disables); ``now``: the clock's reading at start."""
        self.limit, self._fire = limit, fire
        self._last = now
        self._lock = threading.Lock()
        self.fired = False

    def alive(self, now: float) -> None:
        """A call to the service succeeded at ``now``."""
        with self._lock:
            self._last = max(self._last, now)

    def step(self, now: float) -> bool:
        """Fire (once) when ``limit`` seconds passed since the last successful call; whether it has fired."""
        with self._lock:
            due = self.limit > 0 and not self.fired and now - self._last >= self.limit
            if due:
                self.fired = True
        if due:
            log.error("no successful call to the service for %.0fs: the dead-man switch stops this agent",
                      self.limit)  # fmt: skip
            self._fire()
        return self.fired


def run_command(command: str | None) -> int | None:
    """Run the ``--on-dead-man`` command through the shell; its exit code (None: there was none)."""
    if not command:
        return None
    log.warning("dead-man switch: running %s", command)
    try:
        return subprocess.run(command, shell=True, timeout=COMMAND_TIMEOUT, check=False).returncode  # noqa: S602
    except (OSError, subprocess.TimeoutExpired) as e:
        log.error("dead-man command failed: %s", e)
        return None
