"""Cost accounting (pure): what cloud node time cost, per pool, per job and per user.

The rule, over a window [t0, t1]:
- A cloud node bills node-seconds × its price from its create until it is billed out (its release, but
  never before the minimum billing horizon): exactly its reservation in the burst ledger. A pool's spend
  is the sum of its reservations' spend in the window (``Ledger.spent``, what `burst status` shows).
- A node of S slots is shared by slots: an index that ran s seconds on it (inside the window and the node's
  billed time) is charged s × price / S. A job's cost is the sum over its indices; a user's, over their jobs.
- What no index is charged for is the pool's idle cost: boot, idle slots, draining, and the minimum billing
  horizon past a release. So per pool, spend = charged to indices + idle, and nothing is counted twice.
- A node never charges more than it bills: indices overlapping beyond its slots (clock skew between agent
  and service, an agent registered with more slots than its pool's) have their charges scaled down to it.
- On-premises nodes cost 0: only nodes the ledger bills charge anything.

An index's run is its last attempt (the task document keeps only that one): Finished or Failed from its
start to its end as reported, Running from its lease until now. A canceled index's stop time is unknown, so
its node time stays idle, as does the time of earlier attempts given back or retried.
"""

from __future__ import annotations

from collections import defaultdict
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from hpcburst.domain.burst.ledger import HOUR, Reservation
from hpcburst.domain.states import TaskState
from hpcburst.domain.task import TaskInstance


class BilledNode(BaseModel):
    """A cloud node as the rule sees it: its reservation (price and billed time) and its slot count."""

    model_config = ConfigDict(frozen=True)

    reservation: Reservation
    slots: int = Field(ge=1)


class Run(BaseModel):
    """One index's time on a node (its last attempt)."""

    model_config = ConfigDict(frozen=True)

    job: str
    owner: str
    node: str
    start: float
    end: float


class PoolCost(BaseModel):
    spend: float = 0.0  # what the pool's nodes billed
    used: float = 0.0  # charged to indices
    idle: float = 0.0  # spend no index used: boot, idle slots, the billing horizon


class Accounts(BaseModel):
    pools: dict[str, PoolCost] = Field(default_factory=dict)
    jobs: dict[str, float] = Field(default_factory=dict)
    users: dict[str, float] = Field(default_factory=dict)
    owners: dict[str, str] = Field(default_factory=dict)  # job -> owner, for every charged job


def bills_within(reservation: Reservation, t0: float, t1: float) -> bool:
    end = reservation.billed_until
    return reservation.start < t1 and (end is None or end > t0)


def run_of(task: TaskInstance, owner: str, now: float) -> Run | None:
    """The run of an index's last attempt, None when it has none with a known end (see the module doc)."""
    if task.node is None:
        return None
    if task.state == TaskState.RUNNING and task.leased_at is not None:
        # started_at/ended_at may be an earlier attempt's: the current one has not reported yet
        start, end = task.leased_at, now
    elif task.state in (TaskState.FINISHED, TaskState.FAILED) and task.ended_at is not None:
        start, end = task.started_at or task.leased_at or task.ended_at, task.ended_at
    else:
        return None
    return Run(job=task.job, owner=owner, node=task.node, start=start, end=max(start, end))


def charges(node: BilledNode, runs: list[Run], t0: float, t1: float) -> list[float]:
    """Each run's charge on ``node`` within [t0, t1], scaled down so together they never exceed its spend."""
    r = node.reservation
    billed_end = t1 if r.billed_until is None else min(t1, r.billed_until)
    lo, rate = max(t0, r.start), r.price_per_hour / HOUR / node.slots
    owed = [max(0.0, min(run.end, billed_end) - max(run.start, lo)) * rate for run in runs]
    spend, total = r.cost(t0, t1), sum(owed)
    return owed if total <= spend else [o * spend / total for o in owed]


def account(nodes: list[BilledNode], runs: list[Run], t0: float, t1: float) -> Accounts:
    """Spend per pool, cost per job and per user within [t0, t1] (the rule in the module doc)."""
    by_node: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_node[run.node].append(run)
    out = Accounts()
    for node in nodes:
        pool = out.pools.setdefault(node.reservation.pool, PoolCost())
        pool.spend += node.reservation.cost(t0, t1)
        on_node = by_node.get(node.reservation.node, [])
        for run, charge in zip(on_node, charges(node, on_node, t0, t1), strict=True):
            if charge > 0:
                pool.used += charge
                out.jobs[run.job] = out.jobs.get(run.job, 0.0) + charge
                out.users[run.owner] = out.users.get(run.owner, 0.0) + charge
                out.owners[run.job] = run.owner
    for pool in out.pools.values():
        pool.idle = max(0.0, pool.spend - pool.used)  # never below 0 for float noise: charges <= spend
    return out


class CostBy(StrEnum):
    JOB = "job"
    USER = "user"
    POOL = "pool"


class CostRow(BaseModel):
    name: str = Field(description="the job id, user name or pool name")
    cost: float = Field(description="dollars: the job's or user's share, or the pool's whole spend")
    owner: str | None = Field(default=None, description="by job: who submitted it")
    used: float | None = Field(default=None, description="by pool: dollars charged to indices")
    idle: float | None = Field(default=None, description="by pool: dollars no index used")


class CostReport(BaseModel):
    """``GET /api/cost``: rows that cost anything in [since, until], costliest first, and their total."""

    by: CostBy
    since: float | None = None
    until: float
    rows: list[CostRow]
    total: float


def report(accounts: Accounts, by: CostBy, since: float | None, until: float) -> CostReport:
    if by == CostBy.POOL:
        rows = [
            CostRow(name=name, cost=p.spend, used=p.used, idle=p.idle) for name, p in accounts.pools.items()
        ]
    elif by == CostBy.USER:
        rows = [CostRow(name=name, cost=cost) for name, cost in accounts.users.items()]
    else:
        rows = [
            CostRow(name=job, cost=cost, owner=accounts.owners[job]) for job, cost in accounts.jobs.items()
        ]
    rows = sorted((r for r in rows if r.cost > 0), key=lambda r: (-r.cost, r.name))
    return CostReport(by=by, since=since, until=until, rows=rows, total=sum(r.cost for r in rows))
