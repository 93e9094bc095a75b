"""The burst controller as admins read it (admins only).

GET  /api/burst                       -> 200 BurstStatus {"pools": [per pool: nodes by state, rate, spend in the
                                         last hour and month against the caps, disabled reason, backoff],
                                         "nodes": [cloud nodes], "last": the last decision with its reason}
GET  /api/burst/log?limit=50&since=T  -> 200 {"decisions": [{"at", "reason", "actions": [...]}]}  (oldest first)
POST /api/burst/pools/{pool}/enable   -> 200 the pool's status (re-enabled after boot failures disabled it)
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import caller
from functions.http_common import handles_errors, json_response, query_epoch, query_int
from hpcburst.api.models import BurstLog
from hpcburst.services.root import services

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="burst", methods=["GET"], auth_level=ANON)
@handles_errors
def burst_status(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(services().burst_admin.status())


@bp.route(route="burst/log", methods=["GET"], auth_level=ANON)
@handles_errors
def burst_log(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    limit, since = query_int(req, "limit", 50), query_epoch(req, "since")
    return json_response(BurstLog(decisions=services().burst.records.entries(limit, since)))


@bp.route(route="burst/pools/{pool}/enable", methods=["POST"], auth_level=ANON)
@handles_errors
def enable_pool(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(services().burst_admin.enable(req.route_params["pool"]))
