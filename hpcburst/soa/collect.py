"""Reading back a client id's responses that are not acknowledged yet (``session.responses``/``aresponses``).

``ResponseCursor`` is the protocol without the I/O: the first call says ``restart`` (an attach gets every
unacknowledged response, including ones handed to an earlier attachment), each call acknowledges what was
yielded since the last one, and the iteration ends when a call brings nothing and nothing is outstanding (or
the session has ended). A retried call also says ``restart``: if the failed call's answer was lost on the
way, what it handed out comes again. Only responses that reached the caller are acknowledged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from hpcburst.client.http import unwrap
from hpcburst.domain.soa.protocol import MAX_BATCH
from hpcburst.errors import ClusterUnreachable, HpcBurstError, InvalidSpec
from hpcburst.soa.codec import Codec
from hpcburst.soa.executor import CLIENT_ID
from hpcburst.soa.http import Channel, encode, post_json, with_retries, with_retries_async
from hpcburst.soa.responses import Response
from hpcburst.soa.streams import ENDED

JSON = {"Content-Type": "application/json"}


class ResponseCursor:
    def __init__(self, path: str, client_id: str, codec: Codec, wait: float) -> None:
        if not CLIENT_ID.match(client_id):
            raise InvalidSpec(
                f"client_id {client_id!r}: 1-128 of letters, digits and _ . : -", field="client_id"
            )
        self.path, self.client_id, self.codec, self.wait = path, client_id, codec, wait
        self.done = False
        self._first = True
        self._outstanding = 0
        self._ack: list[str] = []
        self._call: tuple[list[str], float, bool] = ([], 0.0, True)

    def next_call(self) -> None:
        """Start the next call: (acks, wait, restart) fixed now; its retries send the same acks with restart."""
        ack, self._ack = self._ack, []
        first, self._first = self._first, False
        self._call = (ack, (self.wait if self._outstanding > 0 else 0.0), first)

    def body(self, attempt: int) -> bytes:
        ack, wait, restart = self._call
        return encode({"client_id": self.client_id, "ack": ack, "max": MAX_BATCH, "wait": wait,
                       "restart": restart or attempt > 0})  # fmt: skip

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
        body = encode({"client_id": self.client_id, "ack": self._ack, "max": 0, "wait": 0.0})
        self._ack = []
        return body


def collect(channel: Channel, cursor: ResponseCursor) -> Iterator[Response]:
    http = channel.new_client(timeout=channel.timeout + cursor.wait)
    try:
        while not cursor.done:
            cursor.next_call()
            answer = with_retries(lambda attempt: post_json(http, channel.url, cursor.path, cursor.body(attempt)),
                                  lambda: False)  # fmt: skip
            for response in cursor.take(answer):
                cursor.handed(response.id)
                yield response
    finally:
        body = cursor.final_ack()
        if body is not None:
            try:
                post_json(http, channel.url, cursor.path, body)
            except HpcBurstError:
                pass  # not acknowledged: handed out again on the next attach (at least once)
        http.close()


async def acollect(channel: Channel, cursor: ResponseCursor) -> AsyncIterator[Response]:
    async with channel.new_async_client(timeout=channel.timeout + cursor.wait) as http:

        async def post(body: bytes) -> Any:
            try:
                return unwrap(await http.post(cursor.path, content=body, headers=JSON))
            except httpx.TransportError as e:
                raise ClusterUnreachable(
                    f"cannot reach the cluster at {channel.url} ({type(e).__name__})"
                ) from e

        try:
            while not cursor.done:
                cursor.next_call()
                answer = await with_retries_async(lambda attempt: post(cursor.body(attempt)))
                for response in cursor.take(answer):
                    cursor.handed(response.id)
                    yield response
        finally:
            body = cursor.final_ack()
            if body is not None:
                try:
                    await post(body)
                except HpcBurstError:
                    pass  # not acknowledged: handed out again on the next attach (at least once)
