"""What the controller sees before it decides: its cloud nodes' records brought up to date with the cluster
(which nodes registered, are online, busy) and with the cloud (which VMs failed or vanished).

Rules:
- a node that registered is Online (or Offline when an admin took it offline); Draining stays Draining;
- a registered node's ``last_busy_at`` moves to now while it runs something;
- a node that never registered and that the cloud shows Failed or Deallocated is Failed (the policy deletes
  it, and it counts as a boot failure);
- a node that had registered and then vanished from the cloud (gone, Deallocated, Failed) or stopped
  heartbeating for ``LOST_AFTER`` seconds is lost: it leaves the record at once (its reservation released,
  a spot node's loss counted as an eviction) and its VM, if any, is deleted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hpcburst.domain.burst.models import CloudNode, NodeState, RunningIndex
from hpcburst.domain.burst.record import STOPPED_KEPT, BurstRecord, StoppedNode

LOST_AFTER = 60.0  # seconds without a heartbeat before a registered cloud node is given up
CLOUD_GONE = ("Failed", "Deallocated")


class Registered(BaseModel):
    """A cloud node as the cluster's node records show it."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: str  # Online | Offline | Unreachable
    running: int
    running_indices: list[RunningIndex] = Field(default_factory=list)
    registered_at: float
    last_heartbeat: float


def observe(
    record: BurstRecord,
    registered: dict[str, Registered],
    listed: dict[str, dict[str, str]],
    now: float,
) -> BurstRecord:
    """``listed``: per pool whose provisioner was asked this tick, node name -> cloud state."""
    nodes: list[CloudNode] = []
    lost: list[tuple[CloudNode, str]] = []
    for node in record.nodes:
        reg = registered.get(node.name)
        cloud = listed.get(node.pool)
        gone = cloud is not None and node.name not in record.creating and (
            node.name not in cloud or cloud[node.name] in CLOUD_GONE
        )  # fmt: skip
        if node.registered_at is not None or reg is not None:
            silent = reg is None or (reg.state == "Unreachable" and now - reg.last_heartbeat >= LOST_AFTER)
            if gone or (silent and node.registered_at is not None):
                lost.append((node, "evicted" if node.spot and gone else "lost"))
                continue
        if reg is not None and reg.state != "Unreachable":
            nodes.append(_seen_registered(node, reg, now))
        elif cloud is not None and node.name in cloud and cloud[node.name] in CLOUD_GONE:
            nodes.append(node.model_copy(update={"state": NodeState.FAILED}))
        else:
            nodes.append(node)
    return _without_lost(record.model_copy(update={"nodes": nodes}), lost, now)


def _seen_registered(node: CloudNode, reg: Registered, now: float) -> CloudNode:
    if node.state == NodeState.DRAINING:
        state = NodeState.DRAINING
    else:
        state = NodeState.OFFLINE if reg.state == "Offline" else NodeState.ONLINE
    return node.model_copy(
        update={
            "state": state,
            "registered_at": node.registered_at or reg.registered_at,
            "running": reg.running,
            "running_indices": reg.running_indices,
            "last_busy_at": now if reg.running > 0 else node.last_busy_at,
        }
    )


def _without_lost(record: BurstRecord, lost: list[tuple[CloudNode, str]], now: float) -> BurstRecord:
    if not lost:
        return record
    ledger, evictions = record.ledger, dict(record.evictions)
    for node, cause in lost:
        ledger = ledger.release(node.name, now)
        if cause == "evicted":
            evictions[node.pool] = [*evictions.get(node.pool, []), now]
    stopped = [
        StoppedNode(
            name=n.name,
            pool=n.pool,
            created_at=n.created_at,
            stopped_at=now,
            cause=cause,
            manual=n.manual,
            slots=n.slots,
        )  # fmt: skip
        for n, cause in lost
    ]
    return record.model_copy(
        update={
            "ledger": ledger,
            "evictions": evictions,
            "deleting": {**record.deleting, **{n.name: n.pool for n, _ in lost}},
            "stopped": (record.stopped + stopped)[-STOPPED_KEPT:],
        }
    )
