"""The session orchestration's activities: each takes one small dict and calls ``SessionHousekeeping`` once.

The housekeeping comes from the composition root (``services().soa.housekeeping``, wired there); tests
point ``use_housekeeping`` at their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from hpcburst.services.root import services
from hpcburst.services.soa.housekeeping import SessionHousekeeping

bp = df.Blueprint()


def _from_root() -> SessionHousekeeping:
    return services().soa.housekeeping


_housekeeping: Callable[[], SessionHousekeeping] = _from_root


def use_housekeeping(source: Callable[[], SessionHousekeeping] | None) -> None:
    """Where the activities find the housekeeping (None: the composition root again)."""
    global _housekeeping
    _housekeeping = source or _from_root


@bp.activity_trigger(input_name="data", activity="soa_tick")
def soa_tick(data: dict[str, Any]) -> dict[str, Any]:
    """One look at an open session (``{"session", "now", "work_idle"}``): a ``TickOutcome`` as a dict."""
    work_idle = data.get("work_idle")
    outcome = _housekeeping().tick(
        str(data["session"]), float(data["now"]), None if work_idle is None else float(work_idle)
    )
    return dataclasses.asdict(outcome)


@bp.activity_trigger(input_name="data", activity="soa_finish")
def soa_finish(data: dict[str, Any]) -> dict[str, Any]:
    """Close the session (``{"session", "purge", "reason"}``): ``{"expires_at"}``, None when nothing is kept."""
    reason = data.get("reason")
    outcome = _housekeeping().finish(
        str(data["session"]), bool(data.get("purge")), None if reason is None else str(reason)
    )
    return dataclasses.asdict(outcome)


@bp.activity_trigger(input_name="data", activity="soa_expire")
def soa_expire(data: dict[str, Any]) -> None:
    """Purge a closed durable session's remaining responses (``{"session"}``)."""
    _housekeeping().expire(str(data["session"]))
