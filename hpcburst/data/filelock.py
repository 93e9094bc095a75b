"""An exclusive advisory lock on a file (``fcntl.flock``), shared by threads and processes of one node.

The node cache serialises downloads of one key with it, and the package installer one install per
package (the agent and a manual ``hpcburst pkg sync`` may overlap). The OS drops the lock if the
holder dies, so a crash never leaves a node locked out.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FileLock:
    """``with FileLock(path):`` holds an exclusive flock on ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> FileLock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
