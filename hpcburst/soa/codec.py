"""How calls and results travel: JSON by default, pickle when asked (opaque to the broker either way).

A call is ``{"args": [...], "kwargs": {...}}`` (JSON) or ``{"pickle": "<base64 of (args, kwargs)>"}``; a value is
the JSON value itself or ``{"pickle": "<base64>"}``. A host answers in the codec it was asked in. Only hosts and
clients decode pickles: both belong to the session's owner, who can run code on the nodes anyway.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any, Literal

Codec = Literal["json", "pickle"]
PICKLE: Literal["pickle"] = "pickle"


def encode_call(args: tuple[Any, ...], kwargs: dict[str, Any], codec: Codec = "json") -> Any:
    if codec == PICKLE:
        return {PICKLE: _pickled((args, kwargs))}
    return {"args": list(args), "kwargs": kwargs} if kwargs else {"args": list(args)}


def decode_call(payload: Any) -> tuple[tuple[Any, ...], dict[str, Any], Codec]:
    """(args, kwargs, codec) of a call; a payload of another shape is one positional argument."""
    if isinstance(payload, dict):
        if PICKLE in payload:
            args, kwargs = _unpickled(payload[PICKLE])
            return tuple(args), dict(kwargs), PICKLE
        if "args" in payload:
            return tuple(payload["args"]), dict(payload.get("kwargs") or {}), "json"
    return (payload,), {}, "json"


def encode_value(value: Any, codec: Codec = "json") -> Any:
    return {PICKLE: _pickled(value)} if codec == PICKLE else value


def decode_value(value: Any, codec: Codec = "json") -> Any:
    if codec == PICKLE and isinstance(value, dict) and PICKLE in value:
        return _unpickled(value[PICKLE])
    return value


def _pickled(obj: Any) -> str:
    return base64.b64encode(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def _unpickled(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))  # noqa: S301 - the session owner's own data, see above
