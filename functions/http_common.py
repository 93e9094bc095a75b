"""What every HTTP function shares: parse a body into a model, and map results and errors to responses.

Errors are mapped in one place: ``HpcBurstError`` subclasses by ``hpcburst.errors.http_status`` with
the ``error_body`` JSON; a pydantic ValidationError is a 400 naming the first bad field; anything
else is a 500 whose details go to the log only.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from hpcburst.constants import ENV_MAX_BODY
from hpcburst.domain.task_types import FieldError
from hpcburst.errors import HpcBurstError, InvalidSpec, PayloadTooLarge, error_body, http_status

log = logging.getLogger("hpcburst.functions")
M = TypeVar("M", bound=BaseModel)
JSON = "application/json"
DEFAULT_MAX_BODY = 1024 * 1024


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    """``body`` (a pydantic model, as the route table documents it; or plain JSON data) as JSON."""
    if isinstance(body, BaseModel):
        text = body.model_dump_json()
    else:
        text = json.dumps(body, default=str)
    return func.HttpResponse(text, status_code=status, mimetype=JSON)


def error_response(error: BaseException) -> func.HttpResponse:
    if isinstance(error, ValidationError):
        error = invalid_spec(error)
    status = http_status(error)
    if not isinstance(error, HpcBurstError):
        log.exception("unexpected error", exc_info=error)
    headers = {"WWW-Authenticate": 'Bearer realm="hpcburst"'} if status == 401 else None
    return func.HttpResponse(
        json.dumps(error_body(error)), status_code=status, mimetype=JSON, headers=headers
    )


def invalid_spec(error: ValidationError) -> InvalidSpec:
    """A 400 naming the field: ``tasks.0.sweep.step: Input should be greater than 0``."""
    problems, fields = [], []
    for item in error.errors():
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):  # a rule over several fields that knows which one is wrong
            fields.append(cause.field)
            problems.append(str(cause))
            continue
        where = ".".join(str(p) for p in item["loc"]) or "body"
        fields.append(where)
        problems.append(f"{where}: {item['msg']}")
    return InvalidSpec("; ".join(problems), field=fields[0] if fields else "body")


def max_body() -> int:
    return int(os.environ.get(ENV_MAX_BODY) or DEFAULT_MAX_BODY)


def body_of(req: func.HttpRequest) -> bytes:
    """The raw body; PayloadTooLarge (413) past the configured cap, so nothing oversized reaches the store."""
    body = req.get_body()
    limit = max_body()
    if len(body) > limit:
        raise PayloadTooLarge(
            f"request body is {len(body)} bytes; the limit is {limit} ({ENV_MAX_BODY})", limit=limit
        )
    return body


def parse(model: type[M], req: func.HttpRequest) -> M:
    """The request body as ``model``; InvalidSpec (400) when it is not a JSON object or does not validate.

    Strict, as the OpenAPI document says: ``0`` is not a boolean, ``false`` or ``"3"`` not an integer
    (JSON mode still takes enum values and whole numbers for floats). Text that is not Unicode (a
    lone surrogate escape such as ``"\\ud800"``) is refused by the parser, before it reaches storage.
    """
    body_of(req)
    try:
        return model.model_validate_json(req.get_body() or b"", strict=True)
    except ValidationError as e:
        first = e.errors()[0]
        if first["type"] == "json_invalid":
            raise InvalidSpec(f"request body is not valid JSON: {first['msg']}", field="body") from None
        if first["type"] == "model_type":
            raise InvalidSpec("request body must be a JSON object", field="body") from None
        raise invalid_spec(e) from None


def query_bool(req: func.HttpRequest, name: str) -> bool:
    """``true`` or ``false`` (absent: false); anything else is a 400, so a typo never passes as false."""
    raw = req.params.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise InvalidSpec(f"query parameter {name!r} must be true or false, not {raw!r}", field=name)
    return raw == "true"


def query_int(req: func.HttpRequest, name: str, default: int, low: int = 1, high: int = 1000) -> int:
    raw = req.params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSpec(f"query parameter {name!r} must be a whole number", field=name) from None
    if not low <= value <= high:
        raise InvalidSpec(f"query parameter {name!r} must be between {low} and {high}", field=name)
    return value


def query_epoch(req: func.HttpRequest, name: str) -> float | None:
    """A time in epoch seconds from the query (None when absent or empty); InvalidSpec (400) when not one."""
    raw = req.params.get(name)
    try:
        value = float(raw) if raw else None
        if value is not None and not math.isfinite(value):
            raise ValueError
    except ValueError:
        raise InvalidSpec(f"{name}={raw!r} is not epoch seconds", field=name) from None
    return value


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn any exception of a (sync or async) HTTP function into its error response."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> func.HttpResponse:
            try:
                return await fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - the one place errors become responses
                return error_response(e)

        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            return error_response(e)

    return run
