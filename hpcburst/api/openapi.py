"""The OpenAPI 3.1 document, generated from the route table and the pydantic models (pure code).

OpenAPI 3.1 because its schemas are JSON Schema 2020-12, which is what pydantic emits: optional
fields stay ``anyOf [..., {"type": "null"}]`` with no lossy rewrite to 3.0's ``nullable``, and
schemathesis validates 3.1 answers with a Draft 2020-12 validator. Models are shared components
(``#/components/schemas/Job``); a model used both as a request and an answer whose two schemas differ
gets the pydantic names ``X-Input`` and ``X-Output``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hpcburst.api.models import ErrorBody
from hpcburst.api.routes import BINARY, OPENAPI, ROUTES, Answer, Route

VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
JSON = "application/json"
SECURED_ERRORS = (401, 403)
_PARAM = re.compile(r"\{(\w+)\}")
_REASONS = {
    400: "Bad input: the message says what, details.field names the field",
    401: "No valid bearer token",
    403: "The token's holder may not do this",
    404: "No such item (or route)",
    409: "Not allowed in the item's current state, or lost a race: retry",
    413: "Request body too large",
}
ModelKey = tuple[Any, JsonSchemaMode]  # (model, mode), as models_json_schema keys its refs


def openapi_document(
    routes: Sequence[Route] = ROUTES, title: str = "hpcburst", version: str = "0.1.0"
) -> dict[str, Any]:
    """The whole document: one operation per route, every model a shared component."""
    refs, schemas = _components(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "The hpcburst cluster API: jobs and their indices (users), nodes (admins), "
            "and the node agent protocol (nodes). Errors answer ErrorBody.",
        },
        "tags": [
            {"name": "users", "description": "submit and watch work"},
            {"name": "admins", "description": "operate the cluster"},
            {"name": "nodes", "description": "node agents"},
            {"name": "public", "description": "no token needed"},
        ],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _components(routes: Iterable[Route]) -> tuple[dict[ModelKey, dict[str, Any]], dict[str, Any]]:
    keys: list[ModelKey] = [(ErrorBody, "serialization")]
    for route in routes:
        if route.body is not None:
            keys.append((route.body, "validation"))
        keys += [(a, "serialization") for a in route.answers.values() if not isinstance(a, str)]
    unique = list(dict.fromkeys(keys))
    refs, defs = models_json_schema(unique, ref_template=REF)
    return dict(refs), defs.get("$defs", {})


def _operation(route: Route, refs: dict[ModelKey, dict[str, Any]]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.function,
        "summary": route.summary,
        "tags": [route.audience.value],
        "x-audience": route.audience.value,
    }
    params = [_path_param(name, route) for name in _PARAM.findall(route.path)]
    params += [
        {"name": q.name, "in": "query", "required": q.required, "schema": dict(q.schema)}
        | ({"description": q.description} if q.description else {})
        for q in route.query
    ]
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": route.body_required,
            "content": {JSON: {"schema": refs[(route.body, "validation")]}},
        }
    responses = {str(status): _answer(answer, refs) for status, answer in route.answers.items()}
    if route.links:
        first = responses[str(min(route.answers))]
        first["links"] = {
            f"{route.function}_to_{target}": {"operationId": target, "parameters": dict(parameters)}
            for target, parameters in route.links.items()
        }
    errors = sorted({*route.errors, *(SECURED_ERRORS if route.secured else ())})
    error_ref = refs[(ErrorBody, "serialization")]
    for status in errors:
        responses[str(status)] = {
            "description": _REASONS.get(status, "Error"),
            "content": {JSON: {"schema": error_ref}},
        }
    op["responses"] = responses
    op["security"] = [{"bearer": []}] if route.secured else []
    return op


def _path_param(name: str, route: Route) -> dict[str, Any]:
    schema = dict(route.params.get(name, {"type": "string", "minLength": 1}))
    description = schema.pop("description", None)
    param = {"name": name, "in": "path", "required": True, "schema": schema}
    return param | ({"description": description} if description else {})


def _answer(answer: Answer, refs: dict[ModelKey, dict[str, Any]]) -> dict[str, Any]:
    if answer == BINARY:
        return {
            "description": "The bytes",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    if answer == OPENAPI:
        return {"description": "An OpenAPI 3.1 document", "content": {JSON: {"schema": {"type": "object"}}}}
    assert not isinstance(answer, str), f"unknown answer kind {answer!r}"
    model: type[BaseModel] = answer
    return {
        "description": (model.__doc__ or model.__name__).strip().splitlines()[0],
        "content": {JSON: {"schema": refs[(model, "serialization")]}},
    }
