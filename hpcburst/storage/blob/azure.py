"""The Azure Blob adapter of the BlobStore port (azure-storage-blob; Azurite locally).

Three ways to build one, matching the three ways a process may hold storage rights:

- ``AzureBlobStore.from_connection_string(conn)``: account key (Azurite, the CLI, the function app);
  can mint blob and container SAS (never an account-wide one: agents get per-blob grants).
- ``AzureBlobStore.from_account_url(url, credential=None)``: azure-identity (managed identity,
  ``az login``; default ``DefaultAzureCredential``); mints user-delegation SAS for blobs/containers.
- ``AzureBlobStore.from_sas(account_url, sas_token)``: a container grant (e.g. an agent's read+list on
  the package container); it never sees the key and cannot mint SAS (``ConfigError``). Per-blob grants
  go through ``hpcburst.storage.blob.sas_blob``.

Block ids are the caller's plain strings (ASCII, at most ``MAX_BLOCK_ID`` chars); Azure requires all
ids of one blob to have the same length, so the adapter length-prefixes and pads them to a fixed
width before the SDK base64-encodes them, and undoes that when listing.

Error mapping: missing blob/container -> ``NotFound`` (``delete`` included), existing blob under
``if_none_match`` or a failed precondition -> ``Conflict``, 403 -> ``Forbidden``, unreachable ->
``StorageUnavailable``. ``uncommitted_blocks``/``committed_blocks`` of a missing blob are empty
lists (nothing staged yet), so a resuming upload needs no special case.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import (
    BlobBlock,
    BlobProperties,
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    UserDelegationKey,
    generate_blob_sas,
    generate_container_sas,
)

from hpcburst.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    HpcBurstError,
    InvalidSpec,
    NotFound,
    StorageUnavailable,
)
from hpcburst.storage.blob.port import MAX_BLOCK_ID, BlobInfo, BlockInfo, check_block_id, lower_keys

_BLOCK_ID_WIDTH = 64  # Azure's limit: the 2-digit length prefix + MAX_BLOCK_ID chars + padding
_POOL_SIZE = 64  # HTTP connections kept per store: parallel transfers use one per worker thread
_CLOCK_SKEW = timedelta(minutes=5)  # SAS start time in the past so slightly-off clocks accept it


def encode_block_id(block_id: str) -> str:
    """The fixed-width string handed to the SDK (which base64-encodes it) for a caller block id."""
    check_block_id(block_id)
    return f"{len(block_id):02d}{block_id}".ljust(_BLOCK_ID_WIDTH, "_")


def decode_block_id(raw: str) -> str:
    """The caller id back from a listed block id (ids written by other tools pass through as-is)."""
    if len(raw) == _BLOCK_ID_WIDTH and raw[:2].isdigit():
        length = int(raw[:2])
        if 0 < length <= MAX_BLOCK_ID and raw[2 + length :] == "_" * (_BLOCK_ID_WIDTH - 2 - length):
            return raw[2 : 2 + length]
    return raw


@contextmanager
def _mapped_errors(what: str) -> Iterator[None]:
    """Translate SDK exceptions to the hpcburst hierarchy; ``what`` names the blob in the message."""
    try:
        yield
    except HpcBurstError:
        raise
    except ResourceNotFoundError as e:
        raise NotFound(f"{what} not found") from e
    except (ResourceExistsError, ResourceModifiedError) as e:
        raise Conflict(f"{what} already exists or was changed concurrently") from e
    except ClientAuthenticationError as e:
        raise Forbidden(f"{what}: access denied ({_reason(e)})") from e
    except (ServiceRequestError, ServiceResponseError) as e:
        raise StorageUnavailable(f"{what}: blob storage unreachable ({e})") from e
    except HttpResponseError as e:
        if e.status_code == 412:
            raise Conflict(f"{what}: precondition failed") from e
        if e.status_code == 403:
            raise Forbidden(f"{what}: access denied ({_reason(e)})") from e
        if e.status_code == 400:
            raise InvalidSpec(f"{what}: storage rejected the request ({_reason(e)})") from e
        if e.status_code == 416:
            raise InvalidSpec(f"{what}: requested range is outside the blob") from e
        raise StorageUnavailable(f"{what}: storage error {e.status_code} ({_reason(e)})") from e


def _reason(e: HttpResponseError) -> str:
    code = getattr(e, "error_code", None)
    return str(getattr(code, "value", code) or e.reason or e.status_code)


def pooled_session() -> requests.Session:
    # The SDK's default requests pool holds 10 connections; parallel block transfers need more.
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=_POOL_SIZE, pool_maxsize=_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _transport(session: requests.Session | None = None) -> RequestsTransport:
    """A transport on ``session`` (shared, left open) or on a new pooled session of its own."""
    if session is not None:
        return RequestsTransport(session=session, session_owner=False)
    return RequestsTransport(session=pooled_session(), session_owner=True)


class AzureBlobStore:
    """BlobStore on Azure Blob Storage. Thread-safe: one store is shared by all transfer workers."""

    def __init__(self, service: BlobServiceClient, account_key: str | None = None) -> None:
        self._service = service
        self._account_key = account_key
        self._delegation_key: UserDelegationKey | None = None
        self._delegation_expiry = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    # --- construction ---
    @classmethod
    def from_connection_string(cls, connection_string: str) -> AzureBlobStore:
        service = BlobServiceClient.from_connection_string(connection_string, transport=_transport())
        key = service.credential.account_key if service.credential is not None else None
        return cls(service, account_key=key)

    @classmethod
    def from_account_url(cls, account_url: str, credential: Any = None) -> AzureBlobStore:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return cls(BlobServiceClient(account_url, credential=credential, transport=_transport()))

    @classmethod
    def from_sas(
        cls, account_url: str, sas_token: str, session: requests.Session | None = None
    ) -> AzureBlobStore:
        token = sas_token.lstrip("?")
        return cls(BlobServiceClient(account_url, credential=token, transport=_transport(session)))

    @property
    def _account_name(self) -> str:
        return str(self._service.account_name)

    @property
    def account_url(self) -> str:
        return str(self._service.url).split("?", 1)[0].rstrip("/")

    # --- containers and whole blobs ---
    def ensure_container(self, container: str) -> None:
        with _mapped_errors(f"container {container}"):
            try:
                self._service.create_container(container)
            except ResourceExistsError:
                pass

    def put(
        self,
        container: str,
        name: str,
        data: bytes,
        metadata: Mapping[str, str] | None = None,
        if_none_match: bool = False,
    ) -> BlobInfo:
        with _mapped_errors(f"blob {container}/{name}"):
            result = self._blob(container, name).upload_blob(
                data, overwrite=not if_none_match, metadata=dict(metadata or {})
            )
        return BlobInfo(container, name, len(data), str(result["etag"]), lower_keys(metadata))

    def get(self, container: str, name: str) -> bytes:
        with _mapped_errors(f"blob {container}/{name}"):
            return bytes(self._blob(container, name).download_blob().readall())

    def download_range(self, container: str, name: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        with _mapped_errors(f"blob {container}/{name}"):
            stream = self._blob(container, name).download_blob(offset=offset, length=length)
            return bytes(stream.readall())

    def properties(self, container: str, name: str) -> BlobInfo:
        with _mapped_errors(f"blob {container}/{name}"):
            props = self._blob(container, name).get_blob_properties()
        return _info(container, props)

    def set_metadata(self, container: str, name: str, metadata: Mapping[str, str]) -> None:
        with _mapped_errors(f"blob {container}/{name}"):
            self._blob(container, name).set_blob_metadata(dict(metadata))

    def list(self, container: str, prefix: str = "") -> Iterator[BlobInfo]:
        client = self._service.get_container_client(container)
        with _mapped_errors(f"container {container}"):
            try:
                for props in client.list_blobs(name_starts_with=prefix or None, include=["metadata"]):
                    yield _info(container, props)
            except ResourceNotFoundError:
                return  # no container yet: nothing stored under any prefix

    def delete(self, container: str, name: str) -> None:
        with _mapped_errors(f"blob {container}/{name}"):
            self._blob(container, name).delete_blob()

    # --- blocks ---
    def stage_block(self, container: str, name: str, block_id: str, data: bytes) -> None:
        # Content-MD5 on every block: storage rejects a block damaged in transit (and Azurite then
        # checks a native MD5 instead of computing a CRC64 in JavaScript, which halves its CPU per byte).
        encoded = encode_block_id(block_id)
        with _mapped_errors(f"blob {container}/{name}"):
            self._blob(container, name).stage_block(encoded, data, length=len(data), validate_content=True)

    def commit_blocks(
        self, container: str, name: str, block_ids: Sequence[str], metadata: Mapping[str, str] | None = None
    ) -> BlobInfo:
        blocks = [BlobBlock(encode_block_id(b)) for b in block_ids]  # LATEST: staged, else committed
        client = self._blob(container, name)
        with _mapped_errors(f"blob {container}/{name}"):
            client.commit_block_list(blocks, metadata=dict(metadata or {}))
            props = client.get_blob_properties()
        return _info(container, props)

    def uncommitted_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]:
        return self._block_list(container, name, uncommitted=True)

    def committed_blocks(self, container: str, name: str) -> builtins.list[BlockInfo]:
        return self._block_list(container, name, uncommitted=False)

    def _block_list(self, container: str, name: str, uncommitted: bool) -> builtins.list[BlockInfo]:
        with _mapped_errors(f"blob {container}/{name}"):
            try:
                committed, pending = self._blob(container, name).get_block_list(
                    "uncommitted" if uncommitted else "committed"
                )
            except ResourceNotFoundError:
                return []
        chosen = pending if uncommitted else committed
        return [BlockInfo(decode_block_id(b.id), int(b.size)) for b in chosen]

    # --- shared access signatures ---
    def sas_url(
        self,
        container: str,
        name: str | None = None,
        permission: str = "r",
        expiry: timedelta = timedelta(hours=1),
    ) -> str:
        """A URL granting ``permission`` on one blob, or on the container if ``name`` is None."""
        start, end = _window(expiry)
        signing = self._signing_kwargs(expiry)
        with _mapped_errors(f"SAS for {container}/{name or ''}"):
            if name is None:
                token = generate_container_sas(
                    self._account_name,
                    container,
                    permission=ContainerSasPermissions.from_string(permission),
                    start=start,
                    expiry=end,
                    **signing,
                )
                url = self._service.get_container_client(container).url
            else:
                token = generate_blob_sas(
                    self._account_name,
                    container,
                    name,
                    permission=BlobSasPermissions.from_string(permission),
                    start=start,
                    expiry=end,
                    **signing,
                )
                # Built here, not by a BlobClient: a client per grant cost twice the signing itself.
                url = f"{self.account_url}/{container}/{quote(name, safe='~/')}"
        return f"{url.split('?', 1)[0]}?{token}"

    def _signing_kwargs(self, expiry: timedelta) -> dict[str, Any]:
        if self._account_key is not None:
            return {"account_key": self._account_key}
        credential = self._service.credential
        if credential is None or isinstance(credential, str) or not hasattr(credential, "get_token"):
            raise ConfigError(
                "this blob store holds a SAS token and cannot mint new SAS grants; "
                "use a connection string or an azure-identity credential"
            )
        return {"user_delegation_key": self._user_delegation_key(expiry)}

    def _user_delegation_key(self, expiry: timedelta) -> UserDelegationKey:
        # One delegation key serves many SAS grants; fetch a new one only when it would expire first.
        start, end = _window(expiry)
        with self._lock:
            if self._delegation_key is None or self._delegation_expiry < end:
                key_end = max(end, start + timedelta(hours=8))
                with _mapped_errors("user delegation key"):
                    self._delegation_key = self._service.get_user_delegation_key(start, key_end)
                self._delegation_expiry = key_end
            return self._delegation_key

    def _blob(self, container: str, name: str) -> Any:
        return self._service.get_blob_client(container, name)

    def close(self) -> None:
        self._service.close()


def _window(expiry: timedelta) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - _CLOCK_SKEW, now + expiry


def _info(container: str, props: BlobProperties) -> BlobInfo:
    modified = props.last_modified.timestamp() if props.last_modified else None
    return BlobInfo(
        container=container,
        name=str(props.name),
        size=int(props.size or 0),
        etag=str(props.etag),
        metadata=lower_keys(props.metadata),
        last_modified=modified,
    )
