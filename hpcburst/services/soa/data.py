"""Common data of sessions: a write grant for one blob ``hpc-data/sessions/<id>/<name>`` to the owner, read
grants for a session's blobs to the nodes that run its hosts. Signing is the blob store's (local HMAC with
the account key); read grants are reused for a while, so an agent poll does not sign anew each time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from hpcburst import constants as c
from hpcburst.domain.grants import READ, WRITE
from hpcburst.errors import ConfigError
from hpcburst.storage.blob.port import BlobStore

WRITE_LIFETIME = timedelta(hours=1)
READ_LIFETIME = timedelta(hours=6)
READ_REUSE = 600.0  # seconds a read grant is handed out again (it stays valid for hours)


def common_data_prefix(session: str) -> str:
    """Where a session's common data lives in the ``hpc-data`` container."""
    return f"sessions/{session}/"


def blob_name(session: str, name: str) -> str:
    return common_data_prefix(session) + name


class SessionData:
    def __init__(self, blobs: BlobStore | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._blobs, self._clock = blobs, clock
        self._reads: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._ensured = False
        self._published: dict[str, set[str]] = {}  # session -> names (kept in memory: read on every poll)

    def publish(self, session: str, name: str) -> str:
        """A create+write grant for the session's blob ``name``; nodes of its hosts may read it from now on."""
        url = self.write_url(session, name)
        self.remember(session, [name])
        return url

    def remember(self, session: str, names: Iterable[str]) -> None:
        with self._lock:
            self._published.setdefault(session, set()).update(names)

    def forget(self, session: str) -> None:
        """The session ended: its names and cached read grants go (housekeeping deletes the blobs)."""
        with self._lock:
            for name in self._published.pop(session, ()):
                self._reads.pop(blob_name(session, name), None)

    def write_url(self, session: str, name: str) -> str:
        blobs = self._require()
        if not self._ensured:
            blobs.ensure_container(c.BLOB_DATA)  # a per-blob grant cannot create its container
            self._ensured = True
        return blobs.sas_url(c.BLOB_DATA, blob_name(session, name), WRITE, WRITE_LIFETIME)

    def read_urls(self, sessions: Iterable[str]) -> dict[str, dict[str, str]]:
        """session -> name -> read SAS URL, for the published blobs of ``sessions``."""
        if self._blobs is None:
            return {}
        now = self._clock()
        urls: dict[str, dict[str, str]] = {}
        for session in sessions:
            with self._lock:
                names = sorted(self._published.get(session, ()))
            for name in names:
                blob = blob_name(session, name)
                with self._lock:
                    hit = self._reads.get(blob)
                if hit is None or now - hit[0] > READ_REUSE:
                    hit = (now, self._blobs.sas_url(c.BLOB_DATA, blob, READ, READ_LIFETIME))
                    with self._lock:
                        self._reads[blob] = hit
                urls.setdefault(session, {})[name] = hit[1]
        return urls

    def _require(self) -> BlobStore:
        if self._blobs is None:
            raise ConfigError(
                "session data needs blob storage; set AzureWebJobsStorage (or the storage account URL)"
            )
        return self._blobs
