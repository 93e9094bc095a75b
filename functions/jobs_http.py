"""The client HTTP API for jobs (the CLI and the ``Scheduler`` SDK speak this).

Every call needs a user's bearer token (``Authorization: Bearer ...``); a user sees and acts on their own
jobs only (another user's job is 404, as a missing one), an admin on every job, and environment values of
another user's job are shown as ``***``. All bodies are JSON. Errors: 401 without a valid token, 403 for a
node credential, ``{"error": <type>, "message": ..., "details": {...}}`` with status 400
(bad input; ``details.field`` names the field, e.g. ``tasks.0.sweep.step``), 404 (no such job or
index), 409 (InvalidState: e.g. cancel a finished job), 500.

POST /api/jobs  -> 201 Job
    body: JobSpec {"name"?, "priority"?: "Lowest|BelowNormal|Normal|AboveNormal|Highest",
           "pool"?, "never_burst"?: false, "environment"?: {K: V}, "runtime"?: secs,
           "fail_dependent_tasks"?: false, "group_dependencies"?: [{"parent": g, "child": g}],
           "tasks": [TaskSpec, ...]}
    TaskSpec {"command": "cmd line" | ["argv", ...], "sweep"?: {"start", "end", "step"?: 1},
              "type"?: "Basic|ParametricSweep|NodePrep|NodeRelease" (default: by sweep),
              "name"?, "environment"?: {K: V}, "workdir"?, "stdout"?, "stderr"?, "max_run_time"?: secs,
              "retries"?: 0, "max_running"?: K, "input_files"?: [...], "output_files"?: [...],
              "depends_on"?: [task name, ...], "group"?: g, "valid_exit_codes"?: "0,3..5",
              "fail_job_on_failure"?: false}
    400 names the field of a bad dependency (``tasks[1].depends_on``: unknown name, cycle) or exit codes.
    Job {"id": "12", "name", "owner", "priority", "pool", "never_burst", "tasks": [...], "state",
         "submitted_at", "started_at", "ended_at" (epoch seconds or null), "total", "batch_size",
         "batches", "instance_id", "message", "forced", "node_steps": [{"node", "kind", "ok",
         "exit_code", ...}]} (node_steps: NodePrep/NodeRelease outcomes per node)
GET /api/jobs?state=&owner=&limit=50&continuation=  -> 200 {"jobs": [Job...], "continuation": str|null}
    (newest first)
GET /api/jobs/{job}  -> 200 Job + {"counts": {"Configuring": 0, "Submitted": n, "Queued": n,
    "Running": n, "Finished": n, "Failed": n, "Canceled": n}, "waiting_reason": str|null, "cost": dollars}
    (counts over all indices; cost: its share of cloud node time by slots, 0.0 when it ran on premises)
POST /api/jobs/{job}/cancel  -> 200 Job (state Canceled; running indices are killed by their agents)
    ?force=true: the job's NodeRelease does not run on its nodes
POST /api/jobs/{job}/requeue  body (optional): {"indices": [3, 7]}  -> 200 {"job", "requeued": n,
    "batches": [...]}  (Failed and Canceled indices go back to Queued with fresh retries)
GET /api/jobs/{job}/tasks?state=&limit=100&continuation=  -> 200 {"tasks": [Task...], "continuation"}
    Task {"id": "12.1.7", "job", "task": 1, "index": 7, "batch", "state", "attempt", "retry_count",
          "node"?, "leased_at"?, "started_at"?, "ended_at"?, "exit_code"?, "timed_out"?,
          "stdout"?: OutputRef, "stderr"?: OutputRef, "message"?}   (index order)
GET /api/jobs/{job}/tasks/{index}  ({index} = INDEX or TASK.INDEX) -> 200 Task + {"command": substituted}
GET /api/jobs/{job}/tasks/{index}/output?stream=stdout|stderr&offset=0&length=N  -> 200 raw bytes
    (application/octet-stream), at most HPCBURST_MAX_OUTPUT_BYTES (8 MiB) from ``offset``; headers
    ``x-hpcburst-output-size`` (whole output), ``x-hpcburst-output-offset``, ``x-hpcburst-truncated``
    ("true": more follows, page on with offset); 404 when the index has no such output
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from functions.auth import caller
from functions.durable_port import DurableOrchestrations
from functions.http_common import handles_errors, json_response, parse, query_int
from hpcburst.api.models import JobList, RequeueRequest, TaskList
from hpcburst.domain.job import JobSpec
from hpcburst.services.root import services

bp = df.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="jobs", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def submit_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    who = caller(req)
    spec = parse(JobSpec, req)
    s = services()
    job = await s.jobs.submit(spec, DurableOrchestrations(client), owner=who.name)
    s.burst.wake()  # a backlog is seen now, not at the next timer tick
    return json_response(job, status=201)


@bp.route(route="jobs", methods=["GET"], auth_level=ANON)
@handles_errors
def list_jobs(req: func.HttpRequest) -> func.HttpResponse:
    jobs, token = services().jobs.list_jobs(
        caller(req),
        state=req.params.get("state"),  # present but empty is a 400, as for any other bad state
        owner=req.params.get("owner") or None,
        limit=query_int(req, "limit", 50),
        continuation=req.params.get("continuation") or None,
    )
    return json_response(JobList(jobs=jobs, continuation=token))


@bp.route(route="jobs/{job}", methods=["GET"], auth_level=ANON)
@handles_errors
def view_job(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services().jobs.view(req.route_params["job"], caller(req)))


@bp.route(route="jobs/{job}/cancel", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def cancel_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    who = caller(req)
    force = req.params.get("force", "").lower() in ("1", "true", "yes")  # forced: no NodeRelease runs
    job = await services().jobs.cancel(req.route_params["job"], DurableOrchestrations(client), who, force)
    return json_response(job)


@bp.route(route="jobs/{job}/requeue", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def requeue_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    who = caller(req)
    indices = parse(RequeueRequest, req).indices if req.get_body() else None
    result = await services().jobs.requeue(
        req.route_params["job"], DurableOrchestrations(client), who, indices
    )
    return json_response(result)


@bp.route(route="jobs/{job}/tasks", methods=["GET"], auth_level=ANON)
@handles_errors
def list_tasks(req: func.HttpRequest) -> func.HttpResponse:
    tasks, token = services().results.tasks(
        req.route_params["job"],
        caller(req),
        state=req.params.get("state"),
        limit=query_int(req, "limit", 100),
        continuation=req.params.get("continuation") or None,
    )
    return json_response(TaskList(tasks=tasks, continuation=token))


@bp.route(route="jobs/{job}/tasks/{index}", methods=["GET"], auth_level=ANON)
@handles_errors
def view_task(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    return json_response(services().results.task(req.route_params["job"], req.route_params["index"], who))


@bp.route(route="jobs/{job}/tasks/{index}/output", methods=["GET"], auth_level=ANON)
@handles_errors
def task_output(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    stream = req.params.get("stream", "stdout")
    offset, length = query_int(req, "offset", 0, 0, 2**62), query_int(req, "length", 0, 0, 2**62) or None
    page = services().results.output(
        req.route_params["job"], req.route_params["index"], stream, who, offset, length
    )
    headers = {
        "x-hpcburst-output-size": str(page.size),
        "x-hpcburst-output-offset": str(page.offset),
        "x-hpcburst-truncated": "true" if page.truncated else "false",
    }
    return func.HttpResponse(page.data, status_code=200, mimetype="application/octet-stream", headers=headers)
