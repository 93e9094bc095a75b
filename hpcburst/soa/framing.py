"""The pipe protocol between a node agent and a service host: length-prefixed JSON frames, one batch each.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON (one object). Each frame carries a
whole batch, so a thousand calls cost one ``json`` round and one write, not a thousand. Messages
(``K_*`` keys name them; a frame holds exactly one kind):

agent -> host
    ``{"calls": [[key, op, payload], ...]}``   run these (``key``: the agent's int for the call)
    ``{"data": {"name": str, "path": str | None, "error": str | None}}``   answer to a ``want_data``
    ``{"stop": true}``                           finish what was received, then exit 0
host -> agent
    ``{"ready": true}``                          imported, ``on_start`` done: send calls
    ``{"failed": "<last traceback line>", "traceback": "..."}``   the import or on_start raised
    ``{"results": [[key, ok, value, fault, retry], ...]}``   ``fault``: {type, message, traceback} or null
    ``{"want_data": name}``                      the path of the session's common data ``name``, please

Only this module knows the byte layout; both sides read with ``FrameReader`` (which takes every complete
frame already buffered, so a busy peer's frames are handled as one batch) and write with ``encode``.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024  # bytes: a batch larger than this is a bug, not data
READ_CHUNK = 1024 * 1024

K_CALLS, K_DATA, K_STOP = "calls", "data", "stop"
K_READY, K_FAILED, K_RESULTS, K_WANT_DATA = "ready", "failed", "results", "want_data"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_loads = json.loads


class FrameError(ValueError):
    """The peer wrote something that is not a frame (a corrupted pipe): the connection cannot go on."""


def encode(message: dict[str, Any]) -> bytes:
    body = _dumps(message).encode()
    return HEADER.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class FrameReader:
    """Reads frames from a file descriptor (blocking), a batch of every complete one at a time."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()

    def read(self) -> list[dict[str, Any]]:
        """The next frames: blocks until at least one is complete; [] at end of file."""
        while True:
            frames = self._complete()
            if frames:
                return frames
            chunk = os.read(self.fd, READ_CHUNK)
            if not chunk:
                if self._buffer:
                    raise FrameError(f"the pipe ended inside a frame ({len(self._buffer)} bytes)")
                return []
            self._buffer += chunk

    def _complete(self) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = []
        buffer, at = self._buffer, 0
        while len(buffer) - at >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, at)
            if size > MAX_FRAME:
                raise FrameError(f"a frame of {size} bytes: the pipe is corrupted")
            end = at + HEADER.size + size
            if len(buffer) < end:
                break
            try:
                message = _loads(bytes(buffer[at + HEADER.size : end]))
            except ValueError as e:
                raise FrameError(f"a frame that is not JSON: {e}") from None
            if not isinstance(message, dict):
                raise FrameError("a frame that is not a JSON object")
            frames.append(message)
            at = end
        if at:
            del buffer[:at]
        return frames
