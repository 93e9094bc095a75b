"""Job templates: any user lists and reads them (to know the limits their jobs meet); admins create and
delete them.

GET    /api/templates          -> 200 {"templates": [JobTemplate]}  (``Default`` always listed, empty until made)
POST   /api/templates          body NewTemplate -> 201 JobTemplate  (admins)
GET    /api/templates/{name}   -> 200 JobTemplate
DELETE /api/templates/{name}   -> 200 JobTemplate  (admins)
JobTemplate {"name", "description", defaults "priority", "pool", "max_run_time"; limits "allowed_priorities",
             "max_indices", "max_runtime", "allowed_pools"}
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import caller
from functions.http_common import handles_errors, json_response, parse
from hpcburst.api.models import TemplateList
from hpcburst.domain.template import NewTemplate, TemplateSpec
from hpcburst.services.root import services

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="templates", methods=["GET"], auth_level=ANON)
@handles_errors
def list_templates(req: func.HttpRequest) -> func.HttpResponse:
    caller(req)
    return json_response(TemplateList(templates=services().templates.list_templates()))


@bp.route(route="templates", methods=["POST"], auth_level=ANON)
@handles_errors
def create_template(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    spec = parse(NewTemplate, req)
    template = services().templates.create(
        spec.name, TemplateSpec.model_validate(spec.model_dump(exclude={"name"}))
    )
    return json_response(template, status=201)


@bp.route(route="templates/{name}", methods=["GET"], auth_level=ANON)
@handles_errors
def show_template(req: func.HttpRequest) -> func.HttpResponse:
    caller(req)
    return json_response(services().templates.get(req.route_params["name"]))


@bp.route(route="templates/{name}", methods=["DELETE"], auth_level=ANON)
@handles_errors
def delete_template(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(services().templates.delete(req.route_params["name"]))
