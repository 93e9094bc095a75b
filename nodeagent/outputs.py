"""Where the agent keeps task output: stdout/stderr bytes of a report batch packed into segment blobs.

One segment blob per job per report batch (``{prefix}{job}/{node}-{run}-{n}.seg``) holds every non-empty
stream of that batch back to back; each index gets an ``OutputRef`` (offset, length) into it. Thousands of
tiny outputs thus cost one blob write per report instead of one each. Empty streams get no ref.

The grant comes from the service (``output_url``: a container URL with a SAS) or, when it sends none, from
the agent's own storage connection (AzureWebJobsStorage).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from hpcburst import constants as c
from hpcburst.domain.task import OutputRef
from hpcburst.errors import ConfigError
from hpcburst.storage.blob.port import BlobStore

SEGMENT_LIMIT = 32 * 1024 * 1024  # bytes per segment blob before starting another


@dataclass(frozen=True)
class Output:
    job: str
    task: str  # task key
    stream: str  # "stdout" | "stderr"
    data: bytes


def split_container_url(url: str) -> tuple[str, str, str]:
    """(account URL, container, SAS token) of a container URL such as ``https://a.blob.../c?sv=...``."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    account_path, _, container = path.rpartition("/")
    if not container:
        raise ConfigError(f"output_url {parts.scheme}://{parts.netloc}{parts.path} names no container")
    return urlunsplit((parts.scheme, parts.netloc, account_path, "", "")), container, parts.query


def node_store(grant_url: str | None) -> BlobStore | None:
    """The store for staging and packages: the node's own connection (AzureWebJobsStorage), else the service's
    grant (a container URL whose SAS is an account SAS, so it reaches other containers too); None with neither."""
    connection = os.environ.get(c.ENV_STORAGE_CONNECTION)
    if not connection and not grant_url:
        return None
    from hpcburst.storage.blob.azure import AzureBlobStore

    if connection:
        return AzureBlobStore.from_connection_string(connection)
    account_url, _, sas = split_container_url(grant_url or "")
    return AzureBlobStore.from_sas(account_url, sas)


def default_store_factory(output_url: str | None) -> tuple[BlobStore, str]:
    """The blob store and container for a grant (imports the Azure adapter only when output is written)."""
    from hpcburst.storage.blob.azure import AzureBlobStore

    if output_url:
        account_url, container, sas = split_container_url(output_url)
        return AzureBlobStore.from_sas(account_url, sas), container
    connection = os.environ.get(c.ENV_STORAGE_CONNECTION)
    if not connection:
        raise ConfigError(
            f"the service sent no output_url and {c.ENV_STORAGE_CONNECTION} is not set: "
            "the agent has nowhere to keep task output"
        )
    store = AzureBlobStore.from_connection_string(connection)
    store.ensure_container(c.BLOB_OUTPUT)
    return store, c.BLOB_OUTPUT


class OutputWriter:
    def __init__(self, node: str, store_factory: Callable[[str | None], tuple[BlobStore, str]] | None = None):
        self._node = node
        self._run = uuid.uuid4().hex[:8]  # a restarted agent never overwrites an earlier run's segments
        self._seq = 0
        self._factory = store_factory or default_store_factory
        self._stores: dict[str | None, tuple[BlobStore, str]] = {}

    def write(
        self, outputs: Iterable[Output], output_url: str | None, prefix: str = ""
    ) -> dict[tuple[str, str], OutputRef]:
        """Store every non-empty output; the refs by (task key, stream)."""
        by_job: dict[str, list[Output]] = {}
        for out in outputs:
            if out.data:
                by_job.setdefault(out.job, []).append(out)
        if not by_job:
            return {}
        store, container = self._store(output_url)
        refs: dict[tuple[str, str], OutputRef] = {}
        for job, items in by_job.items():
            for segment in _segments(items):
                self._seq += 1
                blob = f"{prefix}{job}/{self._node}-{self._run}-{self._seq}.seg"
                offset = 0
                for out in segment:
                    refs[(out.task, out.stream)] = OutputRef(
                        container=container, blob=blob, offset=offset, length=len(out.data)
                    )
                    offset += len(out.data)
                store.put(container, blob, b"".join(o.data for o in segment))
        return refs

    def _store(self, output_url: str | None) -> tuple[BlobStore, str]:
        if output_url not in self._stores:
            self._stores[output_url] = self._factory(output_url)
        return self._stores[output_url]


def _segments(items: list[Output]) -> Iterable[list[Output]]:
    segment: list[Output] = []
    size = 0
    for out in items:
        if segment and size + len(out.data) > SEGMENT_LIMIT:
            yield segment
            segment, size = [], 0
        segment.append(out)
        size += len(out.data)
    if segment:
        yield segment
