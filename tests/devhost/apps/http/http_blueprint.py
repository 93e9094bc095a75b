"""A blueprint registered on the app: route constraints, literal precedence, optional and catch-all parameters."""

import json

import azure.functions as func

bp = func.Blueprint()


def _json(value: object) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), mimetype="application/json")


@bp.route(route="items/{id:int}", methods=["GET"])
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"by": "id", "id": req.route_params["id"]})


@bp.route(route="items/new", methods=["GET"])
def item_new(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"by": "literal"})


@bp.route(route="items/{slug:alpha}", methods=["GET"])
def item_by_slug(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"by": "slug", "slug": req.route_params["slug"]})


@bp.route(route="items/{id:int}", methods=["DELETE"])
def item_delete(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"deleted": req.route_params["id"]})


@bp.route(route="files/{name?}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"name": req.route_params.get("name")})


@bp.route(route="blobs/{*path}")
def blobs(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"path": req.route_params.get("path")})
