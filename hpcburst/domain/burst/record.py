"""The burst controller's memory between ticks: one stored document (``BurstRecord``).

It holds what the policy needs and the cloud does not tell: its cloud nodes with their lifecycle states,
the cost ledger, boot failures, evictions, per-pool creation counters, keep-warm memory, disabled pools, pools switched to
regular VMs, creates and deletes decided but not yet confirmed by the provisioner, and the last stopped
nodes. Every change is written (compare-and-set) *before* any provisioner call, so a crash in between
leaves a record the next tick finishes: pending creates are made again (creates are idempotent by name),
pending deletes are retried, and anything the provisioner lists that the record does not know is an
orphan and is deleted.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hpcburst.domain.burst.ledger import Ledger
from hpcburst.domain.burst.models import (
    BurstPool,
    BurstState,
    CloudNode,
    Decision,
    Delete,
    QueuedWork,
    Recall,
    RunningIndex,
)

STOPPED_KEPT = 200  # stopped nodes remembered for `node list` and cost (their spend stays in the ledger)


class StoppedNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    pool: str
    created_at: float
    stopped_at: float
    cause: str
    manual: bool = False
    slots: int = 1


class ClusterInputs(BaseModel):
    """What the cluster shows the policy each tick (see ``BurstState`` for each field's meaning)."""

    work: list[QueuedWork] = Field(default_factory=list)
    onprem_free: dict[str, int] = Field(default_factory=dict)
    onprem_busy: dict[str, int] = Field(default_factory=dict)
    onprem_running: dict[str, list[RunningIndex]] = Field(default_factory=dict)
    spare_free: int = 0  # on-premises slots of pools that do not burst
    spare_busy: int = 0
    soa_slots: dict[str, int] = Field(default_factory=dict)  # pool -> SOA hosts wanted and not allocated


class BurstRecord(BaseModel):
    nodes: list[CloudNode] = Field(default_factory=list)
    ledger: Ledger = Field(default_factory=Ledger)
    failures: dict[str, list[float]] = Field(default_factory=dict)
    evictions: dict[str, list[float]] = Field(default_factory=dict)
    created_count: dict[str, int] = Field(default_factory=dict)
    idle_drains: dict[str, list[float]] = Field(default_factory=dict)  # keep-warm memory (warmth.py)
    recalls: dict[str, list[Recall]] = Field(default_factory=dict)
    disabled: dict[str, str] = Field(default_factory=dict)  # pool -> why
    regular: list[str] = Field(default_factory=list)  # spot pools that fell back to regular VMs
    creating: dict[str, str] = Field(default_factory=dict)  # node -> pool: decided, create not confirmed
    deleting: dict[str, str] = Field(default_factory=dict)  # node -> pool: decided, delete not confirmed
    stopped: list[StoppedNode] = Field(default_factory=list)
    last: Decision | None = None

    def pools_as_seen(self, pools: list[BurstPool]) -> list[BurstPool]:
        """The stored pools with what the controller learned: disabled, or switched to regular VMs."""
        seen = []
        for pool in pools:
            update: dict[str, object] = {}
            if pool.name in self.disabled and pool.disabled_reason is None:
                update["disabled_reason"] = self.disabled[pool.name]
            if pool.name in self.regular and pool.spot:
                price = pool.regular_price_per_hour
                update.update(spot=False, price_per_hour=pool.price_per_hour if price is None else price)
            seen.append(pool.model_copy(update=update) if update else pool)
        return seen

    def state(self, pools: list[BurstPool], cluster: ClusterInputs | None = None) -> BurstState:
        """The policy's input: the record's own memory plus what the cluster shows now."""
        cluster = cluster or ClusterInputs()
        return BurstState(
            pools=self.pools_as_seen(pools),
            nodes=self.nodes,
            onprem_free_slots=cluster.onprem_free,
            onprem_busy_slots=cluster.onprem_busy,
            onprem_running=cluster.onprem_running,
            onprem_spare_free_slots=cluster.spare_free,
            onprem_spare_busy_slots=cluster.spare_busy,
            work=cluster.work,
            soa_slots=cluster.soa_slots,
            ledger=self.ledger,
            failures=self.failures,
            evictions=self.evictions,
            created_count=self.created_count,
            idle_drains=self.idle_drains,
            recalls=self.recalls,
        )

    def after(self, before: BurstState, after: BurstState, decision: Decision) -> BurstRecord:
        """The record once ``decision`` (already applied: ``after``) is decided, before it is carried out."""
        created = {n.name: n.pool for n in after.nodes if n.name not in {m.name for m in before.nodes}}
        gone = {a.node: a for a in decision.actions if isinstance(a, Delete)}
        old = {n.name: n for n in before.nodes}
        stopped = [
            StoppedNode(
                name=name,
                pool=old[name].pool,
                created_at=old[name].created_at,
                stopped_at=decision.at,
                cause="stopped by an admin" if old[name].stopping else action.cause,
                manual=old[name].manual,
                slots=old[name].slots,
            )
            for name, action in gone.items()
            if name in old
        ]
        disabled = {**self.disabled, **{p.name: p.disabled_reason for p in after.pools if p.disabled_reason}}
        switched = {p.name for p in before.pools if p.spot} - {p.name for p in after.pools if p.spot}
        return self.model_copy(
            update={
                "nodes": after.nodes,
                "ledger": after.ledger,
                "failures": after.failures,
                "evictions": after.evictions,
                "created_count": after.created_count,
                "idle_drains": after.idle_drains,
                "recalls": after.recalls,
                "disabled": disabled,
                "regular": sorted(set(self.regular) | switched),
                "creating": {**self.creating, **created},
                "deleting": {**self.deleting, **{n: old[n].pool for n in gone if n in old}},
                "stopped": (self.stopped + stopped)[-STOPPED_KEPT:],
                "last": decision,
            }
        )

    def node(self, name: str) -> CloudNode | None:
        return next((n for n in self.nodes if n.name == name), None)

    def known(self) -> set[str]:
        """Every node name the controller answers for (live, being created or being deleted)."""
        return {n.name for n in self.nodes} | set(self.creating) | set(self.deleting)
