"""Task staging for the agent: inputs placed before an index starts, outputs collected after it ends.

Staging does blocking transfers, so inputs are fetched on a small thread pool (the runner thread never waits
on storage) and outputs on the report thread. Shared inputs come from the node cache (``hpcburst.data``),
fetched once per node and checked against their sha256 before they are cached (the file locks and content
addresses are shared by every ``NodeCache`` on the same root). Storage rights per lease: ``store_for(lease)``,
the agent's own connection or the lease's grants (``nodeagent.grants.GrantBook.lease_store``).

A task must not be able to change a cache entry through its copy. A task running as the agent's own account
gets a copy (a hard link would share the entry's inode, which it could chmod and rewrite); a task running as
another account gets a hard link to the entry, which is the agent's and read-only (0444), so it can read it
and delete its name but never write it. Every path is resolved inside the task's directory (``beneath``).

With ``--cache-max`` the cache evicts least recently used entries to stay under it, never one being placed
nor one linked into a task's directory (``hpcburst.data.staging``); a copied input is the task's own file.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from hpcburst.data.staging import NodeCache
from hpcburst.data.transfer_upload import upload
from hpcburst.domain.protocol import Lease
from hpcburst.storage.blob.port import BlobStore
from nodeagent import beneath
from nodeagent.ledger import Held
from nodeagent.taskdirs import TaskDir


class Stager:
    def __init__(
        self,
        cache_root: Path,
        workers: int,
        store_for: Callable[[Lease], BlobStore],
        cache_max: int | None = None,
    ) -> None:
        self._root = cache_root
        self._cache_max = cache_max  # bytes (--cache-max); None: no cap
        self._store_for = store_for
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="agent-stage")

    def cache(self, lease: Lease) -> NodeCache:
        return NodeCache(self._root, self._store_for(lease), max_bytes=self._cache_max)

    def stage_inputs(self, held: Held, task_dir: TaskDir) -> Future[None]:
        """Start placing the lease's inputs in the task's directory; the future fails with the reason."""
        return self._pool.submit(self._place_inputs, held, task_dir)

    def collect_outputs(self, held: Held, task_dir: TaskDir) -> list[str]:
        """Upload the files matching each output pattern; the blob names ("container/path")."""
        cache = self.cache(held.lease)
        uploaded: list[str] = []
        for item in held.lease.output_files:  # substituted by the lease builder
            for match in sorted(Path(task_dir.cwd).glob(item.pattern)):
                if not match.is_file():
                    continue
                relative = beneath.resolve(task_dir.cwd, str(match.relative_to(task_dir.cwd)), "output file")
                fd = beneath.open_readable(task_dir.cwd, relative, "output file", task_dir.owner)
                try:  # the checked file itself, not whatever the name points at by now
                    dest = item.destination(relative)
                    upload(
                        cache.store,
                        f"/proc/self/fd/{fd}",
                        dest.container,
                        dest.path,
                        concurrency=cache.concurrency,
                    )
                finally:
                    os.close(fd)
                uploaded.append(str(dest))
        return uploaded

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _place_inputs(self, held: Held, task_dir: TaskDir) -> None:
        cache = self.cache(held.lease)
        for item in held.lease.input_files:  # substituted by the lease builder
            loc = item.location
            with cache.using(loc.container, loc.path) as entry:  # not evicted while it is placed
                self._place(str(entry), task_dir, item.path)

    @staticmethod
    def _place(cached: str, task_dir: TaskDir, path: str) -> None:
        link = task_dir.account is not None
        try:
            beneath.place_file(cached, task_dir.cwd, path, "input path", task_dir.owner, link=link)
        except OSError as e:
            if not (link and e.errno == errno.EXDEV):
                raise
            # another file system: a copy the agent keeps owning is as safe as the link
            beneath.place_file(cached, task_dir.cwd, path, "input path", None, link=False)
