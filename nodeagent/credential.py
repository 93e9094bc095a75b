"""The agent's credentials: the pool's join secret (to register) and the per-node credential registration
hands back (for everything else), kept in a 0600 file so a restarted agent proves it is the same node.

Only the node credential may re-register a node that is still live; with just the join secret a restarted
agent waits until the service presumes the old process dead (node timeout), so a stolen join secret
cannot take over a running node's leases.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

CREDENTIAL_FILE = ".node-credential"


class Credentials:
    def __init__(self, path: Path, url: str, pool: str, node: str, join_token: str | None) -> None:
        self._path, self._key = path, {"url": url, "pool": pool, "node": node}
        self._join = join_token
        self._lock = threading.Lock()
        self._node: str | None = self._load()

    def current(self) -> str | None:
        """What to send now: the node credential once there is one, else the join secret."""
        with self._lock:
            return self._node or self._join

    def has_node_credential(self) -> bool:
        with self._lock:
            return self._node is not None

    def adopt(self, credential: str) -> None:
        """Keep a node credential the service issued (in memory and on disk, owner-only)."""
        with self._lock:
            self._node = credential
        tmp = self._path.with_suffix(".tmp")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({**self._key, "credential": credential}, out)
        os.replace(tmp, self._path)

    def forget(self) -> bool:
        """Drop a node credential the service refused (revoked); True when the join secret is left to try."""
        with self._lock:
            self._node = None
        self._path.unlink(missing_ok=True)
        return self._join is not None

    def _load(self) -> str | None:
        try:
            saved = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or any(saved.get(k) != v for k, v in self._key.items()):
            return None  # another cluster's, pool's or node's
        credential = saved.get("credential")
        return credential if isinstance(credential, str) else None
