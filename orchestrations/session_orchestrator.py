"""One orchestration per SOA session owns its lifecycle: idle checks, close, purge, and response expiry.

Started by the sessions HTTP function as ``soa-<session id>`` with ``{"session": id}``. Each generation
does one step and continues as new, so the history stays a handful of events however long the session
lives:

- **open**: call ``soa_tick``; if it names a close reason, finish; otherwise wait for the ``close`` event
  (``{"purge": bool, "reason"?: str}``) or a timer at the tick's ``next_check``, whichever comes first.
  The timer continues as new (carrying ``work_idle`` to the next tick); the event finishes.
- **finish**: call ``soa_finish``. A session that keeps unacknowledged responses continues as new in
  the **retain** phase (``expires_at`` in the input); any other session ends here.
- **retain**: wait for a timer at ``expires_at`` or a ``close`` event with ``purge``; then ``soa_expire``.

Deterministic and thin: the time comes from ``context.current_utc_datetime``; every rule and every store
access lives in the activities (``orchestrations/soa_activities.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import azure.durable_functions as df

SESSION_ORCHESTRATOR = "session_orchestrator"
CLOSE_EVENT = "close"
CLOSED_BY_CLIENT = "closed by the client"
# Activities touch storage: ride out a storage hiccup instead of leaving the session without an owner.
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=5)

bp = df.Blueprint()


def instance_id(session_id: str) -> str:
    """The orchestration instance that owns a session (one per session, so starting it twice is refused)."""
    return f"soa-{session_id}"


def orchestrate(context: df.DurableOrchestrationContext) -> Any:
    state: dict[str, Any] = dict(context.get_input() or {})
    session = str(state["session"])
    if state.get("expires_at") is not None:
        return (yield from _retain(context, state))
    now = _epoch(context.current_utc_datetime)
    tick = yield context.call_activity_with_retry(
        "soa_tick", RETRY, {"session": session, "now": now, "work_idle": state.get("work_idle")}
    )
    if tick["done"]:
        return {"session": session, "state": "Gone"}
    purge, reason = False, tick["close_reason"]
    if reason is None:
        context.set_custom_status(
            {"units": tick["units"], "wanted": tick["wanted"], "next_check": tick["next_check"]}
        )
        timer = context.create_timer(_moment(tick["next_check"]))
        close = context.wait_for_external_event(CLOSE_EVENT)
        winner = yield context.task_any([close, timer])
        if winner is timer:
            context.continue_as_new(_next(state, work_idle=tick["work_idle"]))
            return None
        timer.cancel()
        asked = _event_body(close.result)
        purge, reason = bool(asked.get("purge")), str(asked.get("reason") or CLOSED_BY_CLIENT)
    finished = yield context.call_activity_with_retry(
        "soa_finish", RETRY, {"session": session, "purge": purge, "reason": reason}
    )
    if finished["expires_at"] is None:
        return {"session": session, "state": "Closed", "reason": reason}
    context.continue_as_new(_next(state, expires_at=finished["expires_at"], reason=reason))
    return None


def _retain(context: df.DurableOrchestrationContext, state: dict[str, Any]) -> Any:
    """A closed durable session's responses stay until ``expires_at``, or until a close asks for a purge."""
    session = str(state["session"])
    timer = context.create_timer(_moment(float(state["expires_at"])))
    close = context.wait_for_external_event(CLOSE_EVENT)
    winner = yield context.task_any([close, timer])
    if winner is close:
        timer.cancel()
        if not _event_body(close.result).get("purge"):  # closing a closed session again changes nothing
            context.continue_as_new(_next(state))
            return None
    yield context.call_activity_with_retry("soa_expire", RETRY, {"session": session})
    return {"session": session, "state": "Expired", "reason": state.get("reason")}


def _next(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**state, **changes, "generation": int(state.get("generation", 0)) + 1}


def _event_body(result: Any) -> dict[str, Any]:
    return result if isinstance(result, dict) else {}


def _epoch(moment: dt.datetime) -> float:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.timestamp()


def _moment(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


@bp.orchestration_trigger(context_name="context", orchestration=SESSION_ORCHESTRATOR)
def session_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    return (yield from orchestrate(context))
