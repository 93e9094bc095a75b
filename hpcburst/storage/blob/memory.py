"""An in-memory BlobStore: the fake for fast tests of code that only needs the port.

Held to the same contract suite as the Azure adapter (tests/storage/test_blob_contract.py), except
SAS: ``sas_url`` returns a ``memory://`` URL that nothing serves. Thread-safe; etags change on every
write; uncommitted blocks are discarded on commit, as in Azure.
"""

from __future__ import annotations

import builtins
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from hpcburst.errors import Conflict, InvalidSpec, NotFound
from hpcburst.storage.blob.port import BlobInfo, BlockInfo, check_block_id, lower_keys


@dataclass
class _Blob:
    blocks: list[tuple[str, bytes]]  # committed (id, data), in order
    metadata: dict[str, str]
    etag: str = field(default_factory=lambda: f'"{uuid.uuid4().hex}"')
    last_modified: float = field(default_factory=time.time)

    @property
    def data(self) -> bytes:
        return b"".join(d for _, d in self.blocks)


class MemoryBlobStore:
    def __init__(self) -> None:
        self._containers: dict[str, dict[str, _Blob]] = {}
        self._staged: dict[tuple[str, str], dict[str, bytes]] = {}
        self._lock = threading.Lock()

    def ensure_container(self, container: str) -> None:
        with self._lock:
            self._containers.setdefault(container, {})

    def _container(self, container: str) -> dict[str, _Blob]:
        try:
            return self._containers[container]
        except KeyError:
            raise NotFound(f"container {container} not found") from None

    def _blob(self, container: str, name: str) -> _Blob:
        blob = self._container(container).get(name)
        if blob is None:
            raise NotFound(f"blob {container}/{name} not found")
        return blob

    def _info(self, container: str, name: str, blob: _Blob) -> BlobInfo:
        return BlobInfo(
            container, name, len(blob.data), blob.etag, lower_keys(blob.metadata), blob.last_modified
        )

    def put(
        self,
        container: str,
        name: str,
        data: bytes,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
    ) -> BlobInfo:
        with self._lock:
            blobs = self._container(container)
            if if_none_match and name in blobs:
                raise Conflict(f"blob {container}/{name} already exists or was changed concurrently")
            blob = blobs[name] = _Blob([("", bytes(data))] if data else [], dict(metadata or {}))
            return self._info(container, name, blob)

    def get(self, container: str, name: str) -> bytes:
        with self._lock:
            return self._blob(container, name).data

    def download_range(self, container: str, name: str, offset: int, length: int) -> bytes:
        with self._lock:
            data = self._blob(container, name).data
        if length <= 0:
            return b""
        if offset >= len(data):
            raise InvalidSpec(f"blob {container}/{name}: requested range is outside the blob")
        return data[offset : offset + length]

    def properties(self, container: str, name: str) -> BlobInfo:
        with self._lock:
            return self._info(container, name, self._blob(container, name))

    def set_metadata(self, container: str, name: str, metadata: Mapping[str, str]) -> None:
        with self._lock:
            blob = self._blob(container, name)
            blob.metadata, blob.etag = dict(metadata), f'"{uuid.uuid4().hex}"'

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        with self._lock:
            blobs = self._containers.get(container, {})
            found = [self._info(container, n, b) for n, b in sorted(blobs.items()) if n.startswith(prefix)]
        yield from found

    def delete(self, container: str, name: str) -> None:
        with self._lock:
            self._blob(container, name)
            del self._containers[container][name]
            self._staged.pop((container, name), None)

    def stage_block(self, container: str, name: str, block_id: str, data: bytes) -> None:
        check_block_id(block_id)
        with self._lock:
            self._container(container)
            self._staged.setdefault((container, name), {})[block_id] = bytes(data)

    def commit_blocks(
        self, container: str, name: str, block_ids: Sequence[str], metadata: Mapping[str, str] | None = None
    ) -> BlobInfo:
        with self._lock:
            blobs = self._container(container)
            staged = self._staged.get((container, name), {})
            committed = dict(blobs[name].blocks) if name in blobs else {}
            blocks = []
            for block_id in block_ids:  # Azure's "latest": staged first, else committed
                if block_id in staged:
                    blocks.append((block_id, staged[block_id]))
                elif block_id in committed:
                    blocks.append((block_id, committed[block_id]))
                else:
                    raise InvalidSpec(
                        f"blob {container}/{name}: block {block_id!r} is neither staged nor committed"
                    )
            blob = blobs[name] = _Blob(blocks, dict(metadata or {}))
            self._staged.pop((container, name), None)
            return self._info(container, name, blob)

    def uncommitted_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]:
        with self._lock:
            return [BlockInfo(i, len(d)) for i, d in self._staged.get((container, name), {}).items()]

    def committed_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]:
        with self._lock:
            blob = self._containers.get(container, {}).get(name)
            return [BlockInfo(i, len(d)) for i, d in blob.blocks if i] if blob else []

    def sas_url(
        self,
        container: str,
        name: str | None = None,
        permission: str = "r",
        expiry: timedelta = timedelta(hours=1),
    ) -> str:
        until = int(time.time() + expiry.total_seconds())
        return f"memory://{container}/{name or ''}?sp={permission}&se={until}"
