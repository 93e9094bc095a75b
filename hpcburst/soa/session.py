"""``Session`` and ``DurableSession``: one open session of a registered service, as a client holds it.

A session hands out executors (``session.executor(client_id=...)``) for new requests, and reads back the
responses of a client id that are not yet acknowledged (``responses``/``aresponses``): what a client that
re-attached after a disconnect or a restart still has to collect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from hpcburst.client.http import unwrap
from hpcburst.domain.soa.models import SessionView
from hpcburst.domain.soa.protocol import MAX_BATCH, PublishData, PublishDataAnswer
from hpcburst.errors import ClusterUnreachable, HpcBurstError, InvalidSpec, InvalidState
from hpcburst.soa.codec import Codec
from hpcburst.soa.executor import CLIENT_ID, SessionExecutor
from hpcburst.soa.http import LONG_POLL, encode, post_json, validated, with_retries
from hpcburst.soa.responses import Response
from hpcburst.soa.streams import ENDED

if TYPE_CHECKING:
    from typing import Self

    from hpcburst.soa.client import Client


class Session:
    """HPC Pack's ``Session``: ``id``, ``status()``, ``close()``, and executors to send requests with."""

    def __init__(self, client: Client, view: SessionView) -> None:
        self.client = client
        self.id = view.id
        self.durable = view.durable
        self.view = view  # as last seen; status() asks again

    @classmethod
    def attach(cls, client: Client, session_id: str) -> Self:
        """The open session ``session_id`` (e.g. from another process, or after a restart)."""
        view = client.session_view(session_id)
        if cls is DurableSession and not view.durable:
            raise InvalidState(f"session {session_id} is interactive: attach with soa.Session.attach")
        return cls(client, view)

    @property
    def path(self) -> str:
        return f"/api/sessions/{quote(self.id, safe='')}"

    def status(self) -> SessionView:
        self.view = self.client.session_view(self.id)
        return self.view

    def close(self, purge: bool = False) -> None:
        """End the session: hosts stop; ``purge`` also deletes stored requests, responses and common data now
        (else a durable session's responses stay until acknowledged or their TTL)."""
        self.client.close_session(self.id, purge)

    def publish(self, name: str, data: bytes, keep: bool = False) -> str:
        """Common data: upload ``data`` once as ``name``; hosts read it with ``hpcburst.soa.common_data(name)``.
        Deleted with the session unless ``keep``. Returns the name."""
        ask = validated(PublishData, {"name": name, "keep": keep}, "data")
        answer = PublishDataAnswer.model_validate(
            self.client.channel.call("POST", f"{self.path}/data", json=ask.model_dump())
        )
        from azure.storage.blob import BlobClient  # only publishers pay for the Azure SDK's import

        BlobClient.from_blob_url(answer.url).upload_blob(data, overwrite=True)
        return answer.name

    def executor(self, client_id: str | None = None, batch_size: int = 256, linger: float = 0.002,
                 codec: Codec = "json") -> SessionExecutor:  # fmt: skip
        """A ``concurrent.futures.Executor`` for this session's operations: ``ex.submit("echo", x)``.
        ``client_id`` names the stream of requests (None: a fresh one); reuse it to collect the responses
        later with ``responses(client_id)``."""
        return SessionExecutor(self, client_id, batch_size, linger, codec)

    def responses(self, client_id: str, codec: Codec = "json", wait: float = LONG_POLL) -> Iterator[Response]:
        """Every response of ``client_id`` not yet acknowledged, each once, until none is outstanding.
        What was yielded is acknowledged on the next call (or when the iteration ends)."""
        cursor = ResponseCursor(self, client_id, codec, wait)
        channel = self.client.channel
        http = channel.new_client(timeout=channel.timeout + wait)

        def post(body: bytes) -> Any:
            return with_retries(lambda: post_json(http, channel.url, cursor.path, body), lambda: False)

        try:
            while not cursor.done:
                for response in cursor.take(post(cursor.next_body())):
                    cursor.handed(response.id)
                    yield response
        finally:
            body = cursor.final_ack()
            if body is not None:
                try:
                    post(body)
                except HpcBurstError:
                    pass  # not acknowledged: handed out again on the next attach (at least once)
            http.close()

    async def aresponses(self, client_id: str, codec: Codec = "json",
                         wait: float = LONG_POLL) -> AsyncIterator[Response]:  # fmt: skip
        """``responses`` for asyncio: ``async for r in session.aresponses("run7")``."""
        cursor = ResponseCursor(self, client_id, codec, wait)
        channel = self.client.channel
        async with channel.new_async_client(timeout=channel.timeout + wait) as http:

            async def post(body: bytes) -> Any:
                try:
                    answer = await http.post(cursor.path, content=body, headers=JSON)
                except httpx.TransportError as e:
                    raise ClusterUnreachable(
                        f"cannot reach the cluster at {channel.url} ({type(e).__name__})"
                    ) from e
                return unwrap(answer)

            try:
                while not cursor.done:
                    for response in cursor.take(await post(cursor.next_body())):
                        cursor.handed(response.id)
                        yield response
            finally:
                body = cursor.final_ack()
                if body is not None:
                    try:
                        await post(body)
                    except HpcBurstError:
                        pass  # not acknowledged: handed out again on the next attach (at least once)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.durable:  # an interactive session ends with its client; a durable one outlives it
            self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.view.service}>"


class DurableSession(Session):
    """A session whose requests and responses are stored: attach again after a disconnect or a restart,
    and collect what was not acknowledged with ``responses(client_id)``."""


JSON = {"Content-Type": "application/json"}


class ResponseCursor:
    """The protocol of reading back a client id's responses, without the I/O: first call ``restart`` (so
    an attach gets everything not acknowledged), acknowledge what was yielded on the next call, stop when
    nothing came and nothing is outstanding (or the session ended)."""

    def __init__(self, session: Session, client_id: str, codec: Codec, wait: float) -> None:
        if not CLIENT_ID.match(client_id):
            raise InvalidSpec(
                f"client_id {client_id!r}: 1-128 of letters, digits and _ . : -", field="client_id"
            )
        self.path = f"{session.path}/responses"
        self.client_id, self.codec, self.wait = client_id, codec, wait
        self.done = False
        self._restart = True
        self._outstanding = 0
        self._ack: list[str] = []

    def next_body(self) -> bytes:
        ack, self._ack = self._ack, []
        wait = self.wait if self._outstanding > 0 else 0.0
        body = {
            "client_id": self.client_id,
            "ack": ack,
            "max": MAX_BATCH,
            "wait": wait,
            "restart": self._restart,
        }
        self._restart = False
        return encode(body)

    def take(self, answer: dict[str, Any]) -> list[Response]:
        items = answer["responses"]
        self._outstanding = int(answer.get("outstanding") or 0)
        if not items and (self._outstanding == 0 or answer.get("state") in ENDED):
            self.done = True
        return [Response.from_wire(item, self.codec) for item in items]

    def handed(self, request_id: str) -> None:
        """``request_id``'s response reached the caller: acknowledge it on the next call."""
        self._ack.append(request_id)

    def final_ack(self) -> bytes | None:
        """The call acknowledging the last yielded responses, if any are left unacknowledged."""
        if not self._ack:
            return None
        body = {"client_id": self.client_id, "ack": self._ack, "max": 0, "wait": 0.0}
        self._ack = []
        return encode(body)
