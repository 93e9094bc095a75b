"""The sessions' common data on this node: each published blob downloaded once, shared by the session's hosts.

Files live at ``<workdir>/soa-data/<session>/<name>``, readable by the hosts' accounts (the directories are
0755, the files 0644, written whole then renamed into place). The read URLs come with the SOA poll answers
(``SoaPollAnswer.data_urls``); a session's files go when the node runs no more of its hosts.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpcburst.domain.soa.models import NAME_PATTERN
from hpcburst.errors import HpcBurstError, NotFound

Fetch = Callable[[str], bytes]  # read SAS URL -> the blob's bytes


def fetch_sas(url: str) -> bytes:
    from hpcburst.storage.blob.sas_blob import SasClients

    with SasClients() as clients:
        return clients.blob(url).get()


class DataCache:
    def __init__(self, root: Path, fetch: Fetch = fetch_sas) -> None:
        self.root = root
        self._fetch = fetch
        self._urls: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._busy: dict[tuple[str, str], threading.Lock] = {}  # one download per file at a time
        self.downloads = 0  # how many blobs were fetched (tests count them)

    def learn(self, urls: dict[str, dict[str, str]]) -> None:
        """Read URLs from a poll answer (session -> name -> URL); newer ones replace older."""
        if urls:
            with self._lock:
                for session, names in urls.items():
                    self._urls.setdefault(session, {}).update(names)

    def answer(self, session: str, name: str) -> dict[str, Any]:
        """What a host asking for ``name`` gets: ``{"name", "path"}`` or ``{"name", "error"}``."""
        try:
            return {"name": name, "path": str(self.path(session, name))}
        except (HpcBurstError, OSError, ValueError) as e:
            return {"name": name, "error": str(getattr(e, "message", None) or e)}

    def path(self, session: str, name: str) -> Path:
        if not re.match(NAME_PATTERN, name) or not re.match(NAME_PATTERN, session):
            raise ValueError(f"{name!r} is not a common data name")
        target = self.root / session / name
        with self._lock:
            busy = self._busy.setdefault((session, name), threading.Lock())
        with busy:
            if target.is_file():
                return target
            with self._lock:
                url = self._urls.get(session, {}).get(name)
            if url is None:
                raise NotFound(f"session {session} has published no common data {name!r}")
            data = self._fetch(url)
            self.downloads += 1
            for directory in (self.root, target.parent):
                directory.mkdir(mode=0o755, parents=True, exist_ok=True)
                directory.chmod(0o755)
            partial = target.with_name(f".{name}.{os.getpid()}.part")
            partial.write_bytes(data)
            partial.chmod(0o644)
            os.replace(partial, target)
        return target

    def drop(self, session: str) -> None:
        """The node runs no more hosts of ``session``: its files and URLs go."""
        with self._lock:
            self._urls.pop(session, None)
            self._busy = {k: v for k, v in self._busy.items() if k[0] != session}
        shutil.rmtree(self.root / session, ignore_errors=True)
