"""The API's own description and a liveness probe.

GET /api/openapi.json -> 200 the OpenAPI 3.1 document (``hpcburst.api.openapi``, from the route table);
                         any valid credential may read it
GET /api/health       -> 200 {"status": "ok"}  (the one route that needs no token)
"""

from __future__ import annotations

import functools
import json

import azure.functions as func

from functions.auth import JOIN, NODE, USER, caller
from functions.http_common import JSON, handles_errors, json_response
from hpcburst.api.models import Health
from hpcburst.api.openapi import openapi_document

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@functools.cache
def _document() -> str:
    return json.dumps(openapi_document())


@bp.route(route="openapi.json", methods=["GET"], auth_level=ANON)
@handles_errors
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, USER, NODE, JOIN)  # any credential: only the health check is open
    return func.HttpResponse(_document(), status_code=200, mimetype=JSON)


@bp.route(route="health", methods=["GET"], auth_level=ANON)
@handles_errors
def health(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(Health())
