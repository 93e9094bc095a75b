"""The BlobStore port over per-blob grants: what an agent without a storage key stages and uploads with.

``GrantedBlobStore(grants, refresh)`` maps ``(container, path)`` to the SAS URL granted for
``"container/path"`` and calls storage with that blob's own client. A grant missing, or expiring within
``RENEW_BEFORE``, is asked for again through ``refresh(ref)`` (the service's POST /api/agent/grants); a
ref it cannot get is ``Forbidden``. The permissions a grant carries are read from its URL (``sp``), so a
write-only output grant answers without a round trip: ``properties`` is NotFound and the block lists are
empty (it cannot see what is there), so an upload through it is a fresh full upload (no resume, no
delta). Listing, deleting and creating containers are never granted and fail here, before any I/O.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from hpcburst.errors import ConfigError, Forbidden, NotFound
from hpcburst.storage.blob.port import BlobInfo, BlockInfo
from hpcburst.storage.blob.sas_url import sas_expiry, sas_permissions

if TYPE_CHECKING:
    from hpcburst.storage.blob.sas_blob import SasBlob, SasClients

RENEW_BEFORE = 300.0  # seconds: a grant closer than this to its expiry is renewed before use
Refresh = Callable[[str], "str | None"]


def no_refresh(ref: str) -> str | None:
    return None


class GrantedBlobStore:
    def __init__(
        self,
        grants: Mapping[str, str],
        refresh: Refresh = no_refresh,
        clients: SasClients | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._grants = dict(grants)
        self._refresh, self._clock = refresh, clock
        self._clients = clients
        self._blobs: dict[str, SasBlob] = {}  # by URL
        self._lock = threading.Lock()

    # --- which grant ---
    def _url(self, container: str, name: str) -> str:
        ref = f"{container}/{name}"
        with self._lock:
            url = self._grants.get(ref)
        if url is None or (sas_expiry(url) or float("inf")) - self._clock() < RENEW_BEFORE:
            url = self._refresh(ref)
            if url is None:
                raise Forbidden(f"no storage grant for {ref} (not part of this task's lease)", path=ref)
            with self._lock:
                self._grants[ref] = url
        return url

    def _blob(self, container: str, name: str) -> SasBlob:
        url = self._url(container, name)
        with self._lock:
            blob = self._blobs.get(url)
            if blob is None:
                if self._clients is None:
                    from hpcburst.storage.blob.sas_blob import SasClients  # the SDK only once it is used

                    self._clients = SasClients()
                blob = self._blobs[url] = self._clients.blob(url)
            return blob

    def _readable(self, container: str, name: str) -> bool:
        return "r" in sas_permissions(self._url(container, name))

    # --- the port ---
    def ensure_container(self, container: str) -> None:
        raise Forbidden(f"container {container}: a per-blob grant cannot create containers")

    def put(
        self,
        container: str,
        name: str,
        data: bytes,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
    ) -> BlobInfo:
        return self._blob(container, name).put(data, metadata, if_none_match)

    def get(self, container: str, name: str) -> bytes:
        return self._blob(container, name).get()

    def download_range(self, container: str, name: str, offset: int, length: int) -> bytes:
        return self._blob(container, name).download_range(offset, length)

    def properties(self, container: str, name: str) -> BlobInfo:
        if not self._readable(container, name):
            raise NotFound(f"blob {container}/{name}: not visible through a write-only grant")
        return self._blob(container, name).properties()

    def set_metadata(self, container: str, name: str, metadata: Mapping[str, str]) -> None:
        self._blob(container, name).set_metadata(metadata)

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        raise Forbidden(f"container {container}: per-blob grants cannot list")

    def delete(self, container: str, name: str) -> None:
        raise Forbidden(f"blob {container}/{name}: no grant lets a node delete")

    def stage_block(self, container: str, name: str, block_id: str, data: bytes) -> None:
        self._blob(container, name).stage_block(block_id, data)

    def commit_blocks(
        self, container: str, name: str, block_ids: Sequence[str], metadata: Mapping[str, str] | None = None
    ) -> BlobInfo:
        if self._readable(container, name):
            self._blob(container, name).commit_blocks(block_ids, metadata)
            return self.properties(container, name)
        return self._blob(container, name).commit_blocks(block_ids, metadata)

    def uncommitted_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]:
        return self._blocks(container, name, uncommitted=True)

    def committed_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]:
        return self._blocks(container, name, uncommitted=False)

    def _blocks(self, container: str, name: str, uncommitted: bool) -> builtins.list[BlockInfo]:
        if not self._readable(container, name):
            return []
        try:
            return self._blob(container, name).block_list(uncommitted)
        except NotFound:
            return []

    def sas_url(
        self,
        container: str,
        name: str | None = None,
        permission: str = "r",
        expiry: timedelta = timedelta(hours=1),
    ) -> str:
        raise ConfigError("a node holding grants cannot mint new ones; ask the service")
