"""What cloud node time cost (the rule: ``hpcburst.domain.cost``; who sees what: ``hpcburst.services.cost``).

GET /api/cost?by=job|user|pool&since=EPOCH -> 200 CostReport {"by", "since", "until", "total",
    "rows": [{"name", "cost", "owner"? (by job), "used"?, "idle"? (by pool)}]}  costliest first, in dollars
    by=job (default): a user's own jobs, an admin's every job; by=user: a user's own row, an admin's every
    user; by=pool: each pool's spend, what indices used of it and the idle rest (admins only: else 403).
    since: only spend at or after this time (default: all the ledger remembers); 400 for a bad by or since.
"""

from __future__ import annotations

import azure.functions as func

from functions.auth import caller
from functions.http_common import handles_errors, json_response, query_epoch
from hpcburst.domain.cost import CostBy
from hpcburst.errors import InvalidSpec
from hpcburst.services.root import services

bp = func.Blueprint()
ANON = func.AuthLevel.ANONYMOUS


@bp.route(route="cost", methods=["GET"], auth_level=ANON)
@handles_errors
def cost_report(req: func.HttpRequest) -> func.HttpResponse:
    who = caller(req)
    return json_response(services().cost.report(who, _by(req.params.get("by")), query_epoch(req, "since")))


def _by(raw: str | None) -> CostBy:
    if raw is None:
        return CostBy.JOB
    try:
        return CostBy(raw)
    except ValueError:
        raise InvalidSpec(
            f"by={raw!r}: use one of {', '.join(b.value for b in CostBy)}", field="by"
        ) from None
