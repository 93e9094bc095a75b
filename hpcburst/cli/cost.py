"""`hpcburst cost [--by job|user|pool] [--since 1h|2d|SECONDS]`: what cloud node time cost, as a table.

By job (the default) and by user a user sees their own jobs and row, an admin everyone's; by pool (admins)
shows each pool's spend, what indices used of it and the idle rest (boot, idle slots, the billing minimum).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from hpcburst.cli.common import console, dollars, friendly, scheduler, table, when
from hpcburst.domain.cost import CostBy

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")
Row = tuple[object, ...]
# per kind of row: the columns, and a row as shown
SHOWN: dict[CostBy, tuple[tuple[str, ...], Callable[[dict[str, Any]], Row]]] = {
    CostBy.JOB: (("job", "owner", "cost"), lambda r: (r["name"], r.get("owner") or "", dollars(r["cost"]))),
    CostBy.USER: (("user", "cost"), lambda r: (r["name"], dollars(r["cost"]))),
    CostBy.POOL: (
        ("pool", "spend", "used", "idle"),
        lambda r: (r["name"], dollars(r["cost"]), dollars(r.get("used")), dollars(r.get("idle"))),
    ),
}


def seconds(text: str) -> float:
    """A duration such as 90, 45s, 30m, 1h, 2d or 1w, in seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not a duration: say 90, 45s, 30m, 1h, 2d or 1w", param_hint="--since"
        )
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def rows(by: CostBy, answer: dict[str, Any]) -> list[Row]:
    """The answer's rows as the table shows them, then their total."""
    columns, shown = SHOWN[by]
    total = {"name": "total", "cost": answer["total"]}
    if by == CostBy.POOL:
        total |= {k: sum(r.get(k) or 0.0 for r in answer["rows"]) for k in ("used", "idle")}
    return [shown(r) for r in answer["rows"]] + [shown(total)]


@friendly
def cost(
    by: Annotated[
        CostBy, typer.Option("--by", help="Rows per job, user or pool (pool: admins).")
    ] = CostBy.JOB,
    since: Annotated[
        str | None, typer.Option("--since", help="Only the last 1h, 2d, 30m or SECONDS (default: all).")
    ] = None,
) -> None:
    """What cloud node time cost: each job's share of its nodes by slots used, per user, or per pool."""
    start = None if since is None else time.time() - seconds(since)
    with scheduler() as s:
        answer = s.cost(by=by.value, since=start)
    span = f"since {when(answer['since'])}" if answer.get("since") else "all the ledger remembers"
    console.print(table(SHOWN[by][0], rows(by, answer), title=f"cost by {by.value}, {span}"))
