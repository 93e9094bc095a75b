"""The job orchestrator: a sliding window of index batches, fan-in by events, bounded history.

Deterministic and thin: the state is ``JobProgress`` (pure), every store access is an activity.
Each loop dispatches batches until ``WINDOW`` are open, then waits for a ``job_event`` (a hint
raised when a batch completes, on cancel and on requeue) and asks the store what is complete.
After ``EVENTS_PER_GENERATION`` events it continues as new, so a 100k-index sweep's history stays
a few hundred events per generation.

Input (also what ``continue_as_new`` carries): ``{"job", "batches", "next", "open", "canceled",
"generation"}``. Output: ``{"job", "state"}`` with the job's final state (plus ``superseded_by`` when
a requeue reopened the job under another orchestration before this one closed it).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from hpcburst.domain.progress import JobProgress
from hpcburst.services.orchestrations import JOB_EVENT, ORCHESTRATOR

EVENTS_PER_GENERATION = 25
# Activities touch storage: ride out a storage hiccup (an emulator restart, throttling) instead of
# failing the job's orchestration. Each retry adds a timer and a call to the history, only on failures.
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=5)

bp = df.Blueprint()


def orchestrate(context: df.DurableOrchestrationContext) -> Any:
    progress = JobProgress.from_input(context.get_input())
    for _ in range(EVENTS_PER_GENERATION):
        batches = progress.to_dispatch()
        if batches:
            yield context.call_activity_with_retry(
                "dispatch_batches", RETRY, {"job": progress.job, "batches": batches}
            )
            progress.dispatched(batches)
        if progress.finished:
            result = yield context.call_activity_with_retry(
                "finish_job",
                RETRY,
                {"job": progress.job, "canceled": progress.canceled, "instance": context.instance_id},
            )
            if not result.get("open"):
                return result
            progress.reopen(result["open"])  # requeued while we were closing: wait for those too
            continue
        context.set_custom_status(
            {"next": progress.next, "open": progress.open, "generation": progress.generation}
        )
        yield context.wait_for_external_event(JOB_EVENT)
        found = yield context.call_activity_with_retry(
            "job_progress", RETRY, {"job": progress.job, "open": progress.open}
        )
        progress.apply(found)
    progress.generation += 1
    context.continue_as_new(progress.to_input())
    return None


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def job_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    return (yield from orchestrate(context))
