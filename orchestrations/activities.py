"""The job orchestrator's activities: each takes one small dict and calls one service."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from hpcburst.services.root import services

bp = df.Blueprint()


@bp.activity_trigger(input_name="data", activity="dispatch_batches")
def dispatch_batches(data: dict[str, Any]) -> None:
    """Send the batches to the dispatch queue (``{"job", "batches"}``)."""
    services().dispatch.enqueue(str(data["job"]), [int(b) for b in data["batches"]])


@bp.activity_trigger(input_name="data", activity="job_progress")
def job_progress(data: dict[str, Any]) -> dict[str, Any]:
    """Which of the open batches are complete, and whether the job was stopped (canceled, or failed at once).
    First, dependent tasks whose parents ended are released (a backstop: reports release them too)."""
    s = services()
    job_id = str(data["job"])
    if s.catalog.get(job_id).has_dependencies:
        s.dependencies.release(s.catalog.get(job_id, fresh=True))
    complete = s.completion.complete_batches(job_id, [int(b) for b in data["open"]])
    return {"complete": complete, "canceled": s.completion.canceled(job_id)}


@bp.activity_trigger(input_name="data", activity="finish_job")
def finish_job(data: dict[str, Any]) -> dict[str, Any]:
    """The job's final state; or ``{"open": [...]}`` when requeued indices still need to run
    (``{"job", "canceled", "instance"}``: ``instance`` is the orchestration finishing it). ``finish``
    looks at open indices itself, under the job document's etag, so a requeue cannot slip in between."""
    return services().completion.finish(str(data["job"]), data.get("instance"))
