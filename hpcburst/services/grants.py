"""Storage grants for agents: per-blob SAS for a lease, segment blobs, the package container, re-grants.

The rules (what, how long) are ``hpcburst.domain.grants``; this signs them with the blob store. Signing
with the account key is local HMAC (no I/O); with managed identity the adapter fetches and keeps a user
delegation key. Only successful signatures are cached: a failure (no key, storage unreachable while
fetching a delegation key) leaves that answer without the grant and the next call tries again. Answers
to register/lease/report then go out without it (the agent asks POST /api/agent/grants when it needs
one); the grants endpoint itself raises, so the agent sees why.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from hpcburst import constants as c
from hpcburst.domain.grants import (
    DEFAULT_HORIZON,
    PACKAGES,
    READ,
    WRITE,
    SegmentGrant,
    grant_lifetime,
    input_refs,
    named_outputs,
    node_prefix,
    output_destinations,
    readable,
    writable,
)
from hpcburst.domain.leasing import holds, lease_for
from hpcburst.domain.protocol import GrantsRequest, GrantsResponse, Lease
from hpcburst.domain.staging import BlobLocation, parse_location
from hpcburst.domain.task import parse_task_key
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Forbidden, HpcBurstError, InvalidSpec, NotFound
from hpcburst.services.catalog import JobCatalog
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.state.port import StateStore

log = logging.getLogger("hpcburst.grants")
PACKAGES_LIFETIME = timedelta(hours=6)  # handed out for at least half of it, then signed anew
_HALF_PACKAGES = PACKAGES_LIFETIME.total_seconds() / 2
REUSE_SECONDS = 60.0  # a shared input's read grant is signed once a minute, not once per index
_CACHE_LIMIT = 10_000
T = TypeVar("T")


class GrantService:
    def __init__(
        self,
        store: StateStore,
        catalog: JobCatalog,
        blobs: BlobStore | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._catalog, self._blobs, self._clock = store, catalog, blobs, clock
        self._signed: dict[tuple[str, str, str, float], tuple[float, str]] = {}  # successes only
        self._containers: set[str] = set()  # ensured (successes only)
        self._lock = threading.Lock()

    # --- in register, lease and report answers: never fail the answer ---
    def lease_grants(self, lease: Lease) -> dict[str, str]:
        """Read grants for the lease's inputs, create+write for its named outputs (never reserved places)."""
        if self._blobs is None or not (lease.input_files or lease.output_files):
            return {}
        lifetime = grant_lifetime(lease.max_run_time)
        wanted = [(ref, READ) for ref in input_refs(lease.input_files)]
        wanted += [(ref, WRITE) for ref in named_outputs(lease.output_files)]
        grants = {}
        for ref, permission in wanted:
            loc = parse_location(ref)
            if not (writable(loc) if permission == WRITE else readable(loc)):
                continue  # the agent's request for it is refused, naming the path
            reuse = REUSE_SECONDS if permission == READ else 0  # outputs are one index's own
            url = self._quietly(self._sign, loc.container, loc.path, permission, lifetime, reuse)
            if url is not None:
                grants[ref] = url
        return grants

    def segment(self, pool: str, node: str) -> SegmentGrant | None:
        return self._quietly(self._segment, pool, node) if self._blobs is not None else None

    def packages_url(self) -> str | None:
        if self._blobs is None:
            return None
        return self._quietly(self._sign, c.BLOB_PACKAGES, None, PACKAGES, PACKAGES_LIFETIME, _HALF_PACKAGES)

    # --- POST /api/agent/grants ---
    def grant(self, req: GrantsRequest) -> GrantsResponse:
        """Grants for paths inside the node's current lease of ``req.task``; Forbidden names anything else."""
        self._store.get(c.NODES, req.pool, req.node)  # NotFound: register first
        if self._blobs is None:
            return GrantsResponse()  # no blob storage configured: nothing to grant (the agent says so)
        response = GrantsResponse()
        if req.inputs or req.outputs:
            lease = self._held(req)
            lifetime = grant_lifetime(lease.max_run_time)
            allowed = input_refs(lease.input_files)
            for ref in req.inputs:
                loc = _location(ref)
                if str(loc) not in allowed:
                    raise Forbidden(f"{ref!r} is not an input of {req.task}", path=ref)
                if not readable(loc):
                    raise Forbidden(f"tasks may not read {ref!r}", path=ref)
                response.grants[str(loc)] = self._sign(loc.container, loc.path, READ, lifetime)
            for relative in req.outputs:
                for loc in output_destinations(lease.output_files, relative):
                    response.grants[str(loc)] = self._sign(loc.container, loc.path, WRITE, lifetime, reuse=0)
        response.segments = [self._segment(req.pool, req.node) for _ in range(req.segments)]
        return response

    def _held(self, req: GrantsRequest) -> Lease:
        """The lease ``req.node`` holds for ``req.task`` at ``req.attempt``; Forbidden when it holds none."""
        refused = Forbidden(f"node {req.node} does not hold {req.task} attempt {req.attempt}", path=req.task)
        try:
            job_id = parse_task_key(req.task or "")[0]
            doc = self._store.get(c.TASKS, job_id, req.task or "")
        except (ValueError, NotFound):
            raise refused from None
        task = TaskDocument.stored(doc.body)
        if not holds(task, req.node, req.attempt):
            raise refused
        return lease_for(self._catalog.get(job_id), task, doc.id)

    # --- signing ---
    def _segment(self, pool: str, node: str) -> SegmentGrant:
        blob = f"{node_prefix(pool, node)}{uuid.uuid4().hex}.seg"
        return SegmentGrant(blob=blob, url=self._sign(c.BLOB_OUTPUT, blob, WRITE, DEFAULT_HORIZON, reuse=0))

    def _sign(
        self,
        container: str,
        name: str | None,
        permission: str,
        lifetime: timedelta,
        reuse: float = REUSE_SECONDS,
    ) -> str:
        """A SAS URL, the same one for ``reuse`` seconds (0: always a fresh one)."""
        assert self._blobs is not None
        key = (container, name or "", permission, lifetime.total_seconds())
        keep, now = reuse, self._clock()
        hit = self._signed.get(key)
        if hit is not None and now - hit[0] < keep:
            return hit[1]
        self._ensure(container, permission)
        url = self._blobs.sas_url(container, name, permission, lifetime)  # raises: nothing is cached
        if keep > 0:
            with self._lock:
                if len(self._signed) >= _CACHE_LIMIT:
                    self._signed.clear()
                self._signed[key] = (now, url)
        return url

    def _ensure(self, container: str, permission: str) -> None:
        """Containers a grant writes to (or lists) must exist: a per-blob grant cannot create them."""
        if (permission != READ or container == c.BLOB_PACKAGES) and container not in self._containers:
            assert self._blobs is not None
            self._blobs.ensure_container(container)  # grants cannot create containers
            self._containers.add(container)

    @staticmethod
    def _quietly(sign: Callable[..., T], *args: Any) -> T | None:
        try:
            return sign(*args)
        except HpcBurstError as e:  # no key, or storage unreachable: this answer goes without it
            log.warning("storage grant not signed (asked again next time): %s", e.message)
            return None


def _location(ref: str) -> BlobLocation:
    try:
        return parse_location(ref)
    except InvalidSpec as e:
        raise Forbidden(e.message, path=ref) from None
