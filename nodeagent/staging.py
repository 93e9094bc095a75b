"""Task staging for the agent: inputs placed before an index starts, outputs collected after it ends.

Staging does blocking transfers, so inputs are fetched on a small thread pool (the runner thread never waits
on storage) and outputs on the report thread. Shared inputs come from the node cache (``hpcburst.data``),
fetched once per node (its file locks and content addresses are shared by every ``NodeCache`` on the same
root). Storage rights per lease: ``store_for(lease)``, the agent's own connection or the lease's grants
(``nodeagent.grants.GrantBook.lease_store``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from hpcburst.data.staging import NodeCache
from hpcburst.domain.protocol import Lease
from hpcburst.storage.blob.port import BlobStore
from nodeagent.ledger import Held


class Stager:
    def __init__(self, cache_root: Path, workers: int, store_for: Callable[[Lease], BlobStore]) -> None:
        self._root = cache_root
        self._store_for = store_for
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="agent-stage")

    def cache(self, lease: Lease) -> NodeCache:
        return NodeCache(self._root, self._store_for(lease))

    def stage_inputs(self, held: Held, workdir: str) -> Future[list[Path]]:
        """Start placing the lease's inputs in ``workdir``; the future fails with the reason."""
        return self._pool.submit(lambda: self.cache(held.lease).stage_inputs(held.lease.input_files, workdir))

    def collect_outputs(self, held: Held, workdir: str) -> list[str]:
        return self.cache(held.lease).collect_outputs(held.lease.output_files, workdir)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
