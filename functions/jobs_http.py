"""The client HTTP API for jobs (the CLI and the ``Scheduler`` SDK speak this).

Every call needs a user's bearer token (``Authorization: Bearer ...``); a user sees and acts on their own
jobs only (another user's job is 404, as a missing one), an admin on every job, and environment values of
another user's job are shown as ``***``. All bodies are JSON. Errors: 401 without a valid token, 403 for a
node credential, ``{"error": <type>, "message": ..., "details": {...}}`` with status 400
(bad input; ``details.field`` names the field, e.g. ``tasks.0.sweep.step``), 404 (no such job or
index), 409 (InvalidState: e.g. cancel a finished job), 500.

POST /api/jobs  -> 201 Job + {"warnings": [...]}  (body: JobSpec JSON, or HPC Pack job XML with
    Content-Type application/xml: see hpcburst/domain/jobxml.py; warnings name what the XML asked for that
    is not supported)
    body: JobSpec {"name"?, "priority"?: "Lowest|BelowNormal|Normal|AboveNormal|Highest",
           "pool"?, "never_burst"?: false, "environment"?: {K: V}, "runtime"?: secs,
           "fail_dependent_tasks"?: false, "group_dependencies"?: [{"parent": g, "child": g}],
           "tasks": [TaskSpec, ...]}
    TaskSpec {"command": "cmd line" | ["argv", ...], "sweep"?: {"start", "end", "step"?: 1},
              "type"?: "Basic|ParametricSweep|NodePrep|NodeRelease" (default: by sweep),
              "name"?, "environment"?: {K: V}, "workdir"?, "stdout"?, "stderr"?, "max_run_time"?: secs,
              "retries"?: 0, "max_running"?: K, "input_files"?: [...], "output_files"?: [...],
              "depends_on"?: [task name, ...], "group"?: g, "valid_exit_codes"?: "0,3..5",
              "fail_job_on_failure"?: false,
              "node"?: pin (admins only, else 403; the node must be registered, Online, in the job's pool)}
    400 names the field of a bad dependency (``tasks[1].depends_on``: unknown name, cycle) or exit codes.
    A pinned task (clusrun) runs only on its node; when that node is no longer Online its Queued
    indices fail with a message naming the node (hpcburst.domain.pinning).
    Job {"id": "12", "name", "owner", "priority", "pool", "never_burst", "tasks": [...], "state",
         "submitted_at", "started_at", "ended_at" (epoch seconds or null), "total", "batch_size",
         "batches", "instance_id", "message", "forced", "node_steps": [{"node", "kind", "ok",
         "exit_code", ...}]} (node_steps: NodePrep/NodeRelease outcomes per node)
GET /api/jobs?state=&owner=&limit=50&continuation=  -> 200 {"jobs": [Job...], "continuation": str|null}
    (newest first)
GET /api/jobs/{job}?wait=SECONDS&known=PROGRESS  -> 200 Job + {"counts": {"Configuring": 0, "Submitted": n,
    "Queued": n, "Running": n, "Finished": n, "Failed": n, "Canceled": n}, "waiting_reason": str|null,
    "cost": dollars, "progress": "STATE/DIGEST"}
    (counts over all indices; cost: its share of cloud node time by slots, 0.0 when it ran on premises).
    A long-poll with ``known`` (the ``progress`` of the last answer) and ``wait`` (0-60 s): the answer comes
    as soon as the state or counts differ from it, the job ends, or ``wait`` passes (unchanged); state
    changes answer at once, counts within about a second.
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
from pydantic import ValidationError

from functions.auth import caller
from functions.durable_port import DurableOrchestrations
from functions.http_common import (
    body_of,
    handles_errors,
    invalid_spec,
    json_response,
    parse,
    query_bool,
    query_int,
)
from hpcburst.api.models import JobList, RequeueRequest, SubmitAnswer, TaskList
from hpcburst.domain.job import JobSpec
from hpcburst.domain.jobxml import parse_job_xml
from hpcburst.errors import InvalidSpec
from hpcburst.services.jobs import MAX_WATCH
from hpcburst.services.root import services

bp = df.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="jobs", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def submit_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    who = caller(req)
    spec, warnings = _job_spec(req)
    s = services()
    job = await s.jobs.submit(spec, DurableOrchestrations(client), owner=who.name, admin=who.admin)
    s.burst.wake()  # a backlog is seen now, not at the next timer tick
    return json_response(SubmitAnswer(**job.model_dump(), warnings=warnings), status=201)


def _job_spec(req: func.HttpRequest) -> tuple[JobSpec, list[str]]:
    """A JSON JobSpec, or HPC Pack job XML (Content-Type application/xml or text/xml) with its warnings."""
    if "xml" not in (req.headers.get("content-type") or "").lower():
        return parse(JobSpec, req), []
    try:
        text = body_of(req).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSpec("the job XML is not UTF-8", field="xml") from None
    body, warnings = parse_job_xml(text)
    try:
        return JobSpec.model_validate(body), warnings
    except ValidationError as e:
        raise invalid_spec(e) from None


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
async def view_job(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    wait = query_int(req, "wait", 0, low=0, high=int(MAX_WATCH))
    known = req.params.get("known") or None
    if known is not None and len(known) > 200:
        raise InvalidSpec(
            "query parameter 'known' is a progress token of at most 200 characters", field="known"
        )
    return json_response(await services().jobs.watch(req.route_params["job"], who, known, wait))


@bp.route(route="jobs/{job}/cancel", methods=["POST"], auth_level=ANON)
@bp.durable_client_input(client_name="client")
@handles_errors
async def cancel_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    who = caller(req)
    force = query_bool(req, "force")  # forced: no NodeRelease runs
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
