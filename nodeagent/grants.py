"""The storage rights an agent holds: its own connection (an admin's choice), else the service's grants.

``GrantBook`` keeps what comes with the register, lease and report answers: the next segment grants
(newest few; each answer brings one, so the agent always holds one for its next report) and the
package container grant. It hands out stores: ``lease_store(lease)`` for staging an index's inputs and
outputs (a ``GrantedBlobStore`` that asks ``POST /api/agent/grants`` for what the lease lacks: glob
outputs, expired grants), ``next_segment()`` for a segment blob, ``packages_store()`` for the package
sync. With ``AzureWebJobsStorage`` set on the node every one of them is that connection's store.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from hpcburst import constants as c
from hpcburst.domain.grants import SegmentGrant, node_prefix
from hpcburst.domain.protocol import GrantsRequest, Lease
from hpcburst.domain.staging import parse_location
from hpcburst.errors import ConfigError
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.blob.sas_url import sas_expiry
from nodeagent.api import AgentApi
from nodeagent.granted_store import RENEW_BEFORE, GrantedBlobStore
from nodeagent.outputs import SegmentTarget

if TYPE_CHECKING:
    from hpcburst.storage.blob.sas_blob import SasClients

KEEP_SEGMENTS = 4  # segment grants kept for coming reports (a big batch may need more than one)


class GrantBook:
    def __init__(self, node: str, pool: str, api: Callable[[], AgentApi]) -> None:
        self.node, self.pool, self._api = node, pool, api
        self.packages_url: str | None = None
        self._segments: deque[SegmentGrant] = deque(maxlen=KEEP_SEGMENTS)
        self._lock = threading.Lock()
        self._own: BlobStore | None = None
        self._clients: SasClients | None = None  # made on first use (imports the SDK)
        self._run, self._seq = uuid.uuid4().hex[:8], 0

    def absorb(self, segment: SegmentGrant | None = None, packages_url: str | None = None) -> None:
        """Keep the grants an answer carried."""
        with self._lock:
            if segment is not None:
                self._segments.append(segment)
            if packages_url:
                self.packages_url = packages_url

    def own_store(self) -> BlobStore | None:
        """The node's own storage connection (AzureWebJobsStorage), if the admin gave it one."""
        connection = os.environ.get(c.ENV_STORAGE_CONNECTION)
        if not connection:
            return None
        if self._own is None:
            from hpcburst.storage.blob.azure import AzureBlobStore

            self._own = AzureBlobStore.from_connection_string(connection)
        return self._own

    def lease_store(self, lease: Lease) -> BlobStore:
        """Where an index's inputs come from and its output files go."""
        own = self.own_store()
        if own is not None:
            return own
        return GrantedBlobStore(lease.grants, lambda ref: self._regrant(lease, ref), self._sas_clients())

    def packages_store(self) -> BlobStore | None:
        own = self.own_store()
        if own is not None or self.packages_url is None:
            return own
        return self._sas_clients().container_store(self.packages_url)

    def next_segment(self) -> SegmentTarget:
        """Where the next segment blob goes: a granted blob (asking for one when none is left), or a name
        under the node's own prefix when the node writes with its own connection."""
        own = self.own_store()
        if own is not None:
            if self._seq == 0:
                own.ensure_container(c.BLOB_OUTPUT)
            self._seq += 1
            return own, c.BLOB_OUTPUT, f"{node_prefix(self.pool, self.node)}{self._run}-{self._seq}.seg"
        grant = self._take_segment()
        if grant is None:
            granted = self._api().grants(GrantsRequest(node=self.node, pool=self.pool, segments=1)).segments
            if not granted:
                raise ConfigError(
                    f"the service grants no blob storage and {c.ENV_STORAGE_CONNECTION} is not set: "
                    "the agent has nowhere to keep task output"
                )
            grant = granted[0]
        store = GrantedBlobStore({f"{grant.container}/{grant.blob}": grant.url}, clients=self._sas_clients())
        return store, grant.container, grant.blob

    def _take_segment(self) -> SegmentGrant | None:
        with self._lock:
            while self._segments:
                grant = self._segments.pop()  # newest first: it lives longest
                if (sas_expiry(grant.url) or float("inf")) - time.time() > RENEW_BEFORE:
                    return grant
        return None

    def _regrant(self, lease: Lease, ref: str) -> str | None:
        """Ask the service for ``ref``: an input of the lease, or where one of its output files goes."""
        request = GrantsRequest(node=self.node, pool=self.pool, task=lease.task, attempt=lease.attempt)
        if ref in {str(parse_location(f.blob)) for f in lease.input_files}:
            request.inputs = [ref]
        else:
            relative = _output_relative(lease, ref)
            if relative is None:
                return None
            request.outputs = [relative]
        return self._api().grants(request).grants.get(ref)

    def _sas_clients(self) -> SasClients:
        with self._lock:
            if self._clients is None:
                from hpcburst.storage.blob.sas_blob import SasClients

                self._clients = SasClients()
            return self._clients


def _output_relative(lease: Lease, ref: str) -> str | None:
    """The workdir-relative path whose upload goes to ``ref`` (inverse of ``OutputFile.destination``)."""
    for spec in lease.output_files:
        if not spec.is_glob:
            if str(spec.destination(spec.pattern)) == ref:
                return spec.pattern
            continue
        prefix = str(parse_location(spec.blob, need_path=False)).rstrip("/") + "/"
        if ref.startswith(prefix) and str(spec.destination(ref[len(prefix) :])) == ref:
            return ref[len(prefix) :]
    return None
