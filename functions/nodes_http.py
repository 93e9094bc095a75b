"""The client HTTP API for nodes.

GET  /api/nodes                 -> 200 {"nodes": [{"name", "pool", "slots", "state": "Online|Offline|Unreachable",
                                        "last_heartbeat", "registered_at", "hostname", "cloud", "running",
                                        "alive_seconds_ago"}]}
POST /api/nodes/{node}/offline  -> 200 node (drain: it finishes what it runs and leases nothing new)
POST /api/nodes/{node}/online   -> 200 node
404 for an unknown node. Any user may list nodes; only admins take them offline or online (else 403).
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import caller
from functions.http_common import handles_errors, json_response
from hpcburst.api.models import NodeList
from hpcburst.domain.states import NodeState
from hpcburst.services.root import services

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="nodes", methods=["GET"], auth_level=ANON)
@handles_errors
def list_nodes(req: func.HttpRequest) -> func.HttpResponse:
    caller(req)
    return json_response(NodeList(nodes=services().nodes.list_nodes()))


@bp.route(route="nodes/{node}/offline", methods=["POST"], auth_level=ANON)
@handles_errors
def node_offline(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(services().nodes.set_state(req.route_params["node"], NodeState.OFFLINE))


@bp.route(route="nodes/{node}/online", methods=["POST"], auth_level=ANON)
@handles_errors
def node_online(req: func.HttpRequest) -> func.HttpResponse:
    caller(req, admin=True)
    return json_response(services().nodes.set_state(req.route_params["node"], NodeState.ONLINE))
