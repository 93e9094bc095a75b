"""``Session`` and ``DurableSession``: one open session of a registered service, as a client holds it.

A session hands out executors (``session.executor(client_id=...)``) for new requests, and reads back the
responses of a client id that are not yet acknowledged (``responses``/``aresponses``): what a client that
re-attached after a disconnect or a restart still has to collect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from hpcburst.domain.soa.models import SessionView
from hpcburst.domain.soa.protocol import PublishData, PublishDataAnswer
from hpcburst.errors import InvalidState
from hpcburst.soa.codec import Codec
from hpcburst.soa.collect import ResponseCursor, acollect, collect
from hpcburst.soa.executor import SessionExecutor
from hpcburst.soa.http import LONG_POLL, validated
from hpcburst.soa.responses import Response

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
        return collect(self.client.channel, ResponseCursor(f"{self.path}/responses", client_id, codec, wait))

    def aresponses(
        self, client_id: str, codec: Codec = "json", wait: float = LONG_POLL
    ) -> AsyncIterator[Response]:
        """``responses`` for asyncio: ``async for r in session.aresponses("run7")``."""
        return acollect(self.client.channel, ResponseCursor(f"{self.path}/responses", client_id, codec, wait))

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
