"""What the local provisioner made, on disk: one JSON file under its work root, so a restarted controller
(another ``LocalProvisioner``, another process) can list and delete the nodes an earlier one started.

Every change is a read-modify-write under an exclusive ``flock`` and lands by an atomic rename, so two
controllers never lose each other's nodes and a crash never leaves half a file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from hpcburst.provisioners.port import NodeState

REGISTRY_FILE = "nodes.json"


class LocalNode(BaseModel):
    """One node the local provisioner made. ``pid`` is its process group (None: it never boots);
    ``started`` is the process's start time in clock ticks (/proc/PID/stat), so a reused pid is not it;
    ``state`` is fixed once set (Failed, Deallocated), else it follows the process and the boot delay."""

    pool: str
    created_at: float
    boot_at: float  # created_at + boot delay: Provisioning before, Running after
    spot: bool = False
    vm_size: str = ""
    slots: int = 1
    pid: int | None = None
    started: int | None = None
    state: NodeState | None = None
    detail: str = ""


Nodes = dict[str, LocalNode]


class Registry:
    def __init__(self, root: Path) -> None:
        self.path = root / REGISTRY_FILE
        self._lock = root / f"{REGISTRY_FILE}.lock"

    def read(self) -> Nodes:
        with self._locked():
            return self._load()

    def update(self, change: Callable[[Nodes], None]) -> Nodes:
        """Apply ``change`` to the nodes in place and save them; the nodes as saved."""
        with self._locked():
            nodes = self._load()
            change(nodes)
            self._save(nodes)
            return nodes

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _load(self) -> Nodes:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {name: LocalNode.model_validate(node) for name, node in raw.items()}

    def _save(self, nodes: Nodes) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({name: node.model_dump() for name, node in sorted(nodes.items())}, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
