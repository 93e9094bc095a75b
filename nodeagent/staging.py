"""Task staging for the agent: inputs placed before an index starts, outputs collected after it ends.

Staging does blocking transfers, so inputs are fetched on a small thread pool (the runner thread never waits
on storage) and outputs on the report thread. Shared inputs come from the node cache (``hpcburst.data``),
fetched once per node. Storage rights: the agent's own connection (AzureWebJobsStorage) if it has one, else
the SAS the service granted with the lease (an account SAS reaches the data container too).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from hpcburst import constants as c
from hpcburst.data.staging import NodeCache
from hpcburst.errors import ConfigError
from hpcburst.storage.blob.port import BlobStore
from nodeagent.ledger import Held
from nodeagent.outputs import node_store


def default_staging_store(output_url: str | None) -> BlobStore:
    store = node_store(output_url)
    if store is None:
        raise ConfigError(f"task staging needs storage: set {c.ENV_STORAGE_CONNECTION} on the node")
    return store


class Stager:
    def __init__(
        self,
        cache_root: Path,
        workers: int,
        store_for: Callable[[str | None], BlobStore] = default_staging_store,
    ) -> None:
        self._root = cache_root
        self._store_for = store_for
        self._caches: dict[str | None, NodeCache] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="agent-stage")

    def cache(self, output_url: str | None) -> NodeCache:
        key = None if os.environ.get(c.ENV_STORAGE_CONNECTION) else output_url
        with self._lock:
            if key not in self._caches:
                self._caches[key] = NodeCache(self._root, self._store_for(output_url))
            return self._caches[key]

    def stage_inputs(self, held: Held, workdir: str) -> Future[list[Path]]:
        """Start placing the lease's inputs in ``workdir``; the future fails with the reason."""
        return self._pool.submit(
            lambda: self.cache(held.output_url).stage_inputs(held.lease.input_files, workdir)
        )

    def collect_outputs(self, held: Held, workdir: str) -> list[str]:
        return self.cache(held.output_url).collect_outputs(held.lease.output_files, workdir)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
