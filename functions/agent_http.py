"""The node agent API: register, heartbeat, lease (long-poll), report, grants. Agents call out; nothing calls in.

Credentials: register takes the pool's join secret (``hpcburst pool join-token POOL``) or the node's own
credential, and answers a new per-node ``credential`` when it was the join secret; heartbeat, lease and
report take that node credential and may only name its own node and pool (else 403). A node that is still
live cannot be registered again with the join secret (409): a stolen join secret cannot take over leases.

Bodies are the pydantic models of ``hpcburst.domain.protocol`` (JSON). Unknown extra request fields
are ignored. Errors as in ``functions/jobs_http.py``: 400 names the bad field; 404
``{"error": "NotFound"}`` on heartbeat/lease means "register again".

POST /api/agent/register   RegisterRequest {"node", "pool": "default", "slots", "hostname"?, "cloud"?}
    -> 200 RegisterResponse {"node", "pool", "state": "Online|Offline", "heartbeat_interval": s,
       "node_timeout": s, "max_lease_wait": s, "segment": SegmentGrant|null, "packages_url": SAS URL|null}
    SegmentGrant {"container": "hpc-output", "blob": "nodes/<pool>/<node>/<id>.seg", "url": create+write SAS}
    packages_url: the hpc-packages container with a read+list SAS.
    Registering again (agent restart) re-queues whatever the node was running.
POST /api/agent/heartbeat  HeartbeatRequest {"node", "pool", "running": [{"task", "attempt"}], "jobs": [job...]}
    -> 200 HeartbeatResponse {"state", "drain": bool, "cancel": ["12.1.7", ...], "left": [{"job", "release"}]}
    ``cancel``: running indices to kill now (job canceled, or re-leased after this node was presumed dead).
    ``jobs``: those the node keeps NodePrep/NodeRelease state for; ``left``: those of them that ended, and
    whether to run their NodeRelease there (not after a forced cancel) (``hpcburst.domain.node_steps``).
POST /api/agent/lease      LeaseRequest {"node", "pool", "free_slots", "wait_seconds": 0..120,
                                         "running": [{"task", "attempt"}]}
    -> 200 LeaseResponse {"leases": [Lease...], "cancel": [...], "drain": bool,
                          "segment": SegmentGrant|null, "packages_url": SAS URL|null}
    Lease {"task": "12.1.7", "job": "12", "task_id": 1, "index": 7, "attempt": 1, "retry_count": 0,
           "job_name", "command", "environment", "workdir", "stdout", "stderr", "max_run_time",
           "input_files", "output_files", "grants": {"container/path": per-blob SAS URL},
           "node_prep"?: NodeStep, "node_release"?: NodeStep}
    NodeStep {"job", "task_id", "kind": "NodePrep|NodeRelease", "command", "environment", "workdir",
              "max_run_time", "valid_exit_codes", "owner", "job_name"}: run the NodePrep once before the
    job's first index on the node; keep the NodeRelease until the job leaves.
    grants: read for each input, create+write for each non-glob output (hpcburst.domain.grants).
    Waits up to min(wait_seconds, max_lease_wait) when there is nothing to run. Returns many leases
    for short tasks (about 0.5 s of work per free slot), exactly ``free_slots`` for long ones.
POST /api/agent/report     ReportRequest {"node", "pool", "results": [TaskResult...], "node_steps": [...]}
    node_steps [{"job", "kind", "exit_code", "timed_out", "started_at", "ended_at", "message"}]: recorded
    first (a failed NodePrep excludes the node from the job); ``steps_accepted`` in the answer counts them.
    TaskResult {"task", "attempt", "exit_code": int|null, "started_at", "ended_at", "timed_out": false,
                "stdout"?: OutputRef, "stderr"?: OutputRef, "message"?}
    OutputRef {"container": "hpc-output", "blob", "offset": 0, "length": int|null}
    -> 200 ReportResponse {"accepted": [task...], "ignored": [task...], "segment": SegmentGrant|null}
    An OutputRef outside the node's own prefix (hpc-output/nodes/<pool>/<node>/) is dropped, with a message.
    Idempotent: a result counts once, for the current attempt from its leaseholder; resend freely.
    Both lists are acknowledgements: stop resending either ("ignored" = already recorded, or superseded
    by a cancel or a newer attempt).
POST /api/agent/grants     GrantsRequest {"node", "pool", "task"?, "attempt"?, "inputs": [blob ref...],
                                          "outputs": [workdir-relative path...], "segments": 0..16}
    -> 200 GrantsResponse {"grants": {"container/path": SAS URL}, "segments": [SegmentGrant...]}
    For the node's current attempt of ``task`` only: inputs must be its inputs, outputs must match its
    output patterns; otherwise 403 {"error": "Forbidden", "details": {"path": ...}}.
"""

from __future__ import annotations

import asyncio

import azure.durable_functions as df
import azure.functions as func

from functions.auth import JOIN, NODE, caller, node_request
from functions.durable_port import poke
from functions.http_common import handles_errors, json_response, parse
from hpcburst.domain.protocol import (
    GrantsRequest,
    HeartbeatRequest,
    LeaseRequest,
    RegisterRequest,
    ReportRequest,
)
from hpcburst.services.root import services

bp = df.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="agent/register", methods=["POST"], auth_level=ANON)
@handles_errors
def agent_register(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req, JOIN, NODE)
    return json_response(services().nodes.register(parse(RegisterRequest, req), who))


@bp.route(route="agent/heartbeat", methods=["POST"], auth_level=ANON)
@handles_errors
def agent_heartbeat(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services().nodes.heartbeat(node_request(req, HeartbeatRequest)))


@bp.route(route="agent/lease", methods=["POST"], auth_level=ANON)
@handles_errors
async def agent_lease(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(await services().lease.lease(node_request(req, LeaseRequest)))


@bp.route(route="agent/report", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def agent_report(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    request = node_request(req, ReportRequest)
    outcome = await asyncio.to_thread(services().report.report, request)
    for instance, job, batch in outcome.completed:
        await poke(client, instance, {"kind": "batch_done", "job": job, "batch": batch})
    for instance, job in outcome.changed:
        await poke(client, instance, {"kind": "check", "job": job})
    return json_response(outcome.response)


@bp.route(route="agent/grants", methods=["POST"], auth_level=ANON)
@handles_errors
def agent_grants(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services().grants.grant(node_request(req, GrantsRequest)))
