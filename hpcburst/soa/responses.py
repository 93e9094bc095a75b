"""What a request comes back as: ``Response`` (value or fault, and its user data) and ``SoaFault``.

Responses arrive as plain JSON dicts (``protocol.ResponseItem``'s fields); they are read here without a
pydantic model per item, since this runs once per request on the client's hot path.
"""

from __future__ import annotations

from typing import Any

from hpcburst.errors import HpcBurstError
from hpcburst.soa.codec import Codec, decode_value


class SoaFault(HpcBurstError):
    """A request that has no value: its operation raised (``type`` is the exception's class name), its host
    died or it timed out ``attempts`` times. ``node`` is where the last attempt ran; ``traceback`` the host's."""

    status = 502  # the service, not the caller, failed

    def __init__(self, type: str, message: str, attempts: int = 1, node: str | None = None,  # noqa: A002
                 traceback: str | None = None) -> None:  # fmt: skip
        super().__init__(f"{type}: {message} (after {attempts} attempt{'s' if attempts != 1 else ''}"
                         f"{f', last on {node}' if node else ''})")  # fmt: skip
        self.type = type
        self.fault_message = message
        self.attempts = attempts
        self.node = node
        self.traceback = traceback

    @classmethod
    def from_wire(cls, fault: dict[str, Any] | None) -> SoaFault:
        fault = fault or {}
        return cls(str(fault.get("type") or "Fault"), str(fault.get("message") or ""),
                   int(fault.get("attempts") or 1), fault.get("node"), fault.get("traceback"))  # fmt: skip

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, as exceptions from a pool are
        return (SoaFault, (self.type, self.fault_message, self.attempts, self.node, self.traceback))


class Response:
    """One response as ``session.responses(client_id)`` yields it: ``value`` decoded, or ``fault``."""

    __slots__ = ("id", "ok", "value", "fault", "user_data")

    def __init__(self, id: str, ok: bool, value: Any = None, fault: SoaFault | None = None,  # noqa: A002
                 user_data: Any = None) -> None:  # fmt: skip
        self.id = id
        self.ok = ok
        self.value = value
        self.fault = fault
        self.user_data = user_data

    @classmethod
    def from_wire(cls, item: dict[str, Any], codec: Codec = "json") -> Response:
        user_data = decode_value(item.get("user_data"), codec)
        if item.get("ok"):
            return cls(item["id"], True, decode_value(item.get("value"), codec), None, user_data)
        return cls(item["id"], False, None, SoaFault.from_wire(item.get("fault")), user_data)

    def result(self) -> Any:
        """The value, or raise the fault (as a future's ``result()`` would)."""
        if self.fault is not None:
            raise self.fault
        return self.value

    def __repr__(self) -> str:
        outcome = f"value={self.value!r}" if self.ok else f"fault={self.fault}"
        return f"Response(id={self.id!r}, {outcome}, user_data={self.user_data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Response) and all(
            getattr(self, name) == getattr(other, name) for name in ("id", "ok", "value", "user_data")
        )

    __hash__ = None  # type: ignore[assignment]
