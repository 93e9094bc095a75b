"""The client HTTP API for nodes.

GET  /api/nodes                 -> 200 {"nodes": [{"name", "pool", "slots", "state": "Online|Offline|Unreachable",
                                        "last_heartbeat", "registered_at", "hostname", "cloud", "running",
                                        "alive_seconds_ago"}]}
POST /api/nodes/{node}/offline  -> 200 node (drain: it finishes what it runs and leases nothing new)
POST /api/nodes/{node}/online   -> 200 node
POST /api/nodes/stop            body {"nodes": [names], "now"?: false} -> 200 {"nodes": {name: "draining"|"deleting"}}
                                (cloud nodes: drain, then delete; ``now``: delete at once, running work re-queued)
The list also carries ``cloud_nodes``: the burst controller's nodes in every lifecycle state (Provisioning,
Online, Offline, Draining, Deleting, Stopped, Failed) with their price per hour.
404 for an unknown node. Any user may list nodes; only admins take them offline or online (else 403).
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import caller
from functions.http_common import handles_errors, json_response, parse
from hpcburst.api.models import NodeList, StopNodesAnswer, StopNodesRequest
from hpcburst.domain.states import NodeState
from hpcburst.services.root import services

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="nodes", methods=["GET"], auth_level=ANON)
@handles_errors
def list_nodes(req: func.HttpRequest) -> func.HttpResponse:
    caller(req)
    s = services()
    return json_response(NodeList(nodes=s.nodes.list_nodes(), cloud_nodes=s.burst_admin.cloud_nodes()))


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


@bp.route(route="nodes/stop", methods=["POST"], auth_level=ANON)
@handles_errors
def stop_nodes(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req, admin=True)
    spec = parse(StopNodesRequest, req)
    outcome = services().burst_admin.stop_nodes(spec.nodes, spec.now, who=who.name)
    return json_response(StopNodesAnswer(nodes=outcome))
