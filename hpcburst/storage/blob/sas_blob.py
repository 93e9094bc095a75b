"""Blob storage through grants: one blob by its own SAS URL, or one container by a container SAS URL.

What an agent holding no storage key uses (``nodeagent.granted_store`` maps the BlobStore port onto it).
``SasClients`` builds the clients on one shared HTTP connection pool, so a grant per blob does not
mean a connection per blob. Errors map as in ``hpcburst.storage.blob.azure`` (403 -> ``Forbidden``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from azure.storage.blob import BlobBlock, BlobClient

from hpcburst.storage.blob.azure import (
    AzureBlobStore,
    _info,
    _mapped_errors,
    _transport,
    decode_block_id,
    encode_block_id,
    pooled_session,
)
from hpcburst.storage.blob.port import BlobInfo, BlockInfo, lower_keys
from hpcburst.storage.blob.sas_url import split_container_url


class SasBlob:
    """One blob reached with its own SAS URL; each call needs the permission storage checks for it."""

    def __init__(self, client: BlobClient) -> None:
        self._client = client
        self.container, self.name = str(client.container_name), str(client.blob_name)
        self._what = f"blob {self.container}/{self.name}"

    def properties(self) -> BlobInfo:
        with _mapped_errors(self._what):
            return _info(self.container, self._client.get_blob_properties())

    def get(self) -> bytes:
        with _mapped_errors(self._what):
            return bytes(self._client.download_blob().readall())

    def download_range(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        with _mapped_errors(self._what):
            return bytes(self._client.download_blob(offset=offset, length=length).readall())

    def put(
        self, data: bytes, metadata: Mapping[str, str] | None = None, if_none_match: bool = False
    ) -> BlobInfo:
        with _mapped_errors(self._what):
            result = self._client.upload_blob(
                data, overwrite=not if_none_match, metadata=dict(metadata or {})
            )
        return BlobInfo(self.container, self.name, len(data), str(result["etag"]), lower_keys(metadata))

    def set_metadata(self, metadata: Mapping[str, str]) -> None:
        with _mapped_errors(self._what):
            self._client.set_blob_metadata(dict(metadata))

    def delete(self) -> None:
        with _mapped_errors(self._what):
            self._client.delete_blob()

    def stage_block(self, block_id: str, data: bytes) -> None:
        encoded = encode_block_id(block_id)
        with _mapped_errors(self._what):
            self._client.stage_block(encoded, data, length=len(data), validate_content=True)

    def commit_blocks(
        self, block_ids: Sequence[str], metadata: Mapping[str, str] | None = None, size: int = 0
    ) -> BlobInfo:
        """Commit; the answer is built from the commit's own response (a write-only grant cannot read the
        blob back), so ``size`` is what the caller says it is."""
        blocks = [BlobBlock(encode_block_id(b)) for b in block_ids]
        with _mapped_errors(self._what):
            result = self._client.commit_block_list(blocks, metadata=dict(metadata or {}))
        modified = result.get("last_modified")
        when = modified.timestamp() if modified is not None and hasattr(modified, "timestamp") else None
        return BlobInfo(self.container, self.name, size, str(result.get("etag")), lower_keys(metadata), when)

    def block_list(self, uncommitted: bool) -> builtins.list[BlockInfo]:
        with _mapped_errors(self._what):
            committed, pending = self._client.get_block_list("uncommitted" if uncommitted else "committed")
        return [
            BlockInfo(decode_block_id(b.id), int(b.size)) for b in (pending if uncommitted else committed)
        ]


class SasClients:
    """Builds grant clients sharing one connection pool (thread-safe: requests pools are)."""

    def __init__(self) -> None:
        self._session = pooled_session()

    def blob(self, url: str) -> SasBlob:
        return SasBlob(BlobClient.from_blob_url(url, transport=_transport(self._session)))

    def container_store(self, url: str) -> AzureBlobStore:
        """A BlobStore on a container SAS URL (e.g. read+list on the package container)."""
        account_url, _, token = split_container_url(url)
        return AzureBlobStore.from_sas(account_url, token, session=self._session)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> SasClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
