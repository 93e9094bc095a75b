"""What `hpcburst burst status`, `node list` and `job view` show of the burst side (pure: from the record).

- ``pool_status``: per burstable pool, nodes by state, the committed rate, spend in the last hour and month
  against the caps, whether it is disabled or backing off;
- ``why_waiting``: why a job's queued indices are not running yet, in the words an admin would use.
"""

from __future__ import annotations

from pydantic import BaseModel

from hpcburst.domain.burst import health
from hpcburst.domain.burst.capacity import LIVE, home_pool
from hpcburst.domain.burst.ledger import HOUR, MONTH
from hpcburst.domain.burst.models import BurstPool, BurstState, Decision, NodeState
from hpcburst.domain.burst.record import BurstRecord


class PoolBurstStatus(BaseModel):
    name: str
    provisioner: str
    spot: bool
    min_nodes: int
    max_nodes: int
    price_per_hour: float
    nodes: dict[str, int]  # lifecycle state -> count, of nodes that exist or are on their way
    not_deployed: int = 0  # HPC Pack's Not-Deployed: room for more nodes up to max_nodes (none bills)
    rate_per_hour: float  # what the nodes holding a reservation cost per hour now
    spent_last_hour: float
    spent_last_month: float
    cost_cap_per_hour: float | None
    cost_cap_per_month: float | None
    disabled_reason: str | None = None
    backoff_until: float | None = None
    recent_failures: int = 0


class CloudNodeView(BaseModel):
    name: str
    pool: str
    state: str
    created_at: float
    stopped_at: float | None = None
    manual: bool = False
    spot: bool = False
    price_per_hour: float | None = None
    cause: str | None = None  # why a stopped node stopped


class BurstStatus(BaseModel):
    pools: list[PoolBurstStatus]
    nodes: list[CloudNodeView]
    last: Decision | None = None


def pool_status(record: BurstRecord, pool: BurstPool, provisioner: str, now: float) -> PoolBurstStatus:
    seen = record.pools_as_seen([pool])[0]
    counts: dict[str, int] = {}
    for node in record.nodes:
        if node.pool == pool.name:
            counts[node.state.value] = counts.get(node.state.value, 0) + 1
    # HPC Pack's Not-Deployed: room the pool has for nodes that do not exist (nothing bills for them)
    live = sum(n.pool == pool.name and n.state in LIVE for n in record.nodes)
    deleting = sum(p == pool.name for p in record.deleting.values())
    if deleting:
        counts[NodeState.DELETING.value] = counts.get(NodeState.DELETING.value, 0) + deleting
    failures = health.recent_failures(BurstState(pools=[seen], failures=record.failures), seen, now, new=0)
    resume = health.backoff_until(seen, failures)
    return PoolBurstStatus(
        name=pool.name,
        provisioner=provisioner,
        spot=seen.spot,
        min_nodes=seen.min_nodes,
        max_nodes=seen.max_nodes,
        price_per_hour=seen.price_per_hour,
        nodes=counts,
        not_deployed=max(0, seen.max_nodes - live),
        rate_per_hour=record.ledger.committed_rate(pool.name, now),
        spent_last_hour=record.ledger.spent(pool.name, now - HOUR, now),
        spent_last_month=record.ledger.spent(pool.name, now - MONTH, now),
        cost_cap_per_hour=seen.cost_cap_per_hour,
        cost_cap_per_month=seen.cost_cap_per_month,
        disabled_reason=seen.disabled_reason,
        backoff_until=resume if resume is not None and resume > now else None,
        recent_failures=len(failures),
    )


def why_waiting(
    never_burst: bool,
    pool: str | None,
    onprem_online: dict[str, int],
    pools: list[BurstPool],
    record: BurstRecord,
) -> str:
    """Why a job with queued indices waits (called only when it has some)."""
    where = f"pool `{pool}`" if pool else "any pool"
    online = onprem_online.get(pool, 0) if pool else sum(onprem_online.values())
    if never_burst:
        if online == 0:
            return (f"never-burst job: no on-premises node is online in {where}, and cloud nodes never run it; "
                    "start an on-premises agent or resubmit without --never-burst")  # fmt: skip
        return f"never-burst job: waiting for a free on-premises slot in {where} (cloud nodes never run it)"
    seen = record.pools_as_seen(pools)
    home = home_pool(BurstState(pools=seen), pool)
    target = next((p for p in seen if p.name == home), None)
    if target is None:
        return f"waiting for a free slot in {where} (it does not burst)"
    if target.disabled_reason:
        return f"pool `{target.name}` is disabled: {target.disabled_reason} (`hpcburst burst enable {target.name}`)"
    live = sum(n.pool == target.name and n.state in LIVE for n in record.nodes)
    booting = sum(n.pool == target.name and n.state == NodeState.PROVISIONING for n in record.nodes)
    if booting:
        return f"waiting for {booting} cloud node(s) booting in `{target.name}`"
    if record.last is not None and f"`{target.name}` (cap allows 0" in record.last.reason:
        return f"waiting: the cost cap of `{target.name}` allows no more nodes now"
    if live >= target.max_nodes:
        return f"waiting for a free slot: `{target.name}` is at its max of {target.max_nodes} nodes"
    return f"waiting for a free slot (burst pool `{target.name}`: {live} node(s))"
