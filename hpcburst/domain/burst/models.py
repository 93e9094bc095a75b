"""The burst policy's documents: pools, cloud nodes, queued work, the state ``decide`` reads, and its actions.

Every action carries a ``reason`` so each decision can be shown to an admin as it was made.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hpcburst.domain.burst.ledger import Ledger

HOUR = 3600.0


class NodeState(StrEnum):
    NOT_DEPLOYED = "NotDeployed"
    PROVISIONING = "Provisioning"
    ONLINE = "Online"
    OFFLINE = "Offline"
    DRAINING = "Draining"
    DELETING = "Deleting"
    STOPPED = "Stopped"
    FAILED = "Failed"


class ScheduleEntry(BaseModel):
    """A weekly window (UTC) during which the pool keeps at least ``min_nodes``; weekday 0 is Monday."""

    model_config = ConfigDict(frozen=True)

    weekday: int = Field(ge=0, le=6)
    start: str
    end: str
    min_nodes: int = Field(ge=0)

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00", value):
            raise ValueError(f"{value!r} is not HH:MM")
        return value


class BurstPool(BaseModel):
    """A pool's cloud side: sizes, price, timeouts and cost caps (all durations in seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    provisioner: str = "fake"
    min_nodes: int = Field(default=0, ge=0)
    max_nodes: int = Field(default=10, ge=0)
    slots_per_node: int = Field(default=4, ge=1)
    spot: bool = False
    price_per_hour: float = Field(default=0.10, ge=0)
    # what a regular VM costs, used when the pool falls back from spot after repeated evictions
    regular_price_per_hour: float | None = None
    idle_timeout: float = Field(default=300.0, ge=0)
    # a node idle this long while the rest of the pool keeps running work is spare, not waiting out a pause:
    # no queued index was left for it, so it is drained (past delay_after_add) without waiting for
    # idle_timeout. Billing is per second and a node is bought back only for work that would otherwise
    # wait longer than a boot, so half a minute (two decisions at the usual 30 s tick) is enough evidence.
    spare_after: float = Field(default=30.0, ge=0)
    boot_timeout: float = Field(default=600.0, gt=0)
    # how long a node usually takes to register: work that free slots finish sooner is not worth a node
    expected_boot: float = Field(default=120.0, gt=0)
    delay_after_add: float = Field(default=600.0, ge=0)
    cost_cap_per_hour: float | None = Field(default=None, ge=0)
    cost_cap_per_month: float | None = Field(default=None, ge=0)
    # Azure VMs bill per second with a one-minute minimum: a node that lives 10 s still costs 60 s, so a
    # create reserves at least this much spend before it is made.
    billing_horizon: float = Field(default=60.0, gt=0)
    schedule: list[ScheduleEntry] = Field(default_factory=list)
    disabled_reason: str | None = None
    # boot failures: back off base × 2^(n-1) after the n-th within the window; disable at max_failures
    backoff_base: float = Field(default=60.0, ge=0)
    max_failures: int = Field(default=3, ge=1)
    failure_window: float = Field(default=HOUR, gt=0)
    # spot: after this many evictions within an hour, fall back to regular VMs
    evictions_before_fallback: int = Field(default=3, ge=1)


class RunningIndex(BaseModel):
    """One index running on a slot: since when, and when it should end (start + its job's expected duration)."""

    model_config = ConfigDict(frozen=True)

    started_at: float
    expected_end: float | None = None  # None when the job's duration is unknown


class CloudNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    pool: str
    state: NodeState
    created_at: float
    registered_at: float | None = None
    last_busy_at: float | None = None
    slots: int = Field(ge=1)
    running: int = Field(default=0, ge=0)
    spot: bool = False
    # started by an admin (`hpcburst node start`): the policy never scales it down, `node stop` does
    manual: bool = False
    # an admin asked it to stop (`hpcburst node stop`): it drains and is deleted, never resumed
    stopping: bool = False
    # what runs on it, where known (may list fewer than `running`)
    running_indices: list[RunningIndex] = Field(default_factory=list)

    @property
    def idle_since(self) -> float:
        return self.last_busy_at or self.registered_at or self.created_at


class QueuedWork(BaseModel):
    """One job's queued indices as the policy sees them."""

    model_config = ConfigDict(frozen=True)

    job: str
    queued: int = Field(ge=0)
    may_burst: bool = True
    pool: str | None = None
    # how many more indices the job's max_running cap lets start now (None: no cap)
    running_room: int | None = None
    # expected seconds per index (the job's estimate or its finished indices' median), None if unknown
    duration: float | None = Field(default=None, gt=0)

    @property
    def startable(self) -> int:
        return self.queued if self.running_room is None else min(self.queued, self.running_room)


class Recall(BaseModel):
    """The pool needed a node again ``gap`` seconds after one it let go had gone idle (a create at ``at``)."""

    model_config = ConfigDict(frozen=True)

    at: float
    gap: float


class BurstState(BaseModel):
    model_config = ConfigDict(frozen=True)

    pools: list[BurstPool]
    nodes: list[CloudNode] = Field(default_factory=list)
    onprem_free_slots: dict[str, int] = Field(default_factory=dict)
    # on-premises slots busy now: they free up while a new node boots, so they count against demand
    onprem_busy_slots: dict[str, int] = Field(default_factory=dict)
    # what runs on those busy slots, where known: when each frees up, and how long the pool has been busy
    onprem_running: dict[str, list[RunningIndex]] = Field(default_factory=dict)
    # on-premises slots of pools that do not burst: only jobs that name no pool run there, so they count
    # for the pool those jobs burst into (the cheapest enabled one), and only against those jobs' work
    onprem_spare_free_slots: int = Field(default=0, ge=0)
    onprem_spare_busy_slots: int = Field(default=0, ge=0)
    work: list[QueuedWork] = Field(default_factory=list)
    # per pool, service hosts its open SOA sessions want and do not have (wanted − allocated units): a host
    # takes one slot for as long as its session needs it
    soa_slots: dict[str, int] = Field(default_factory=dict)
    ledger: Ledger = Field(default_factory=Ledger)
    failures: dict[str, list[float]] = Field(default_factory=dict)
    evictions: dict[str, list[float]] = Field(default_factory=dict)
    # per pool, how many nodes were ever created: names are derived from it, so two decisions made from
    # the same state name the same nodes and the (idempotent, by-name) create cannot double up
    created_count: dict[str, int] = Field(default_factory=dict)
    # keep-warm memory (see warmth.py), per pool, for the last hour: when each node drained as idle had
    # gone idle, and each time the pool needed a node again soon after
    idle_drains: dict[str, list[float]] = Field(default_factory=dict)
    recalls: dict[str, list[Recall]] = Field(default_factory=dict)


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True)
    reason: str


class Create(_Action):
    kind: Literal["create"] = "create"
    pool: str
    count: int
    names: list[str]
    manual: bool = False  # an admin's `node start`, not the policy's


class Drain(_Action):
    kind: Literal["drain"] = "drain"
    node: str


class Resume(_Action):
    """Take a draining node back into service: cheaper than deleting it and creating another."""

    kind: Literal["resume"] = "resume"
    node: str


class Delete(_Action):
    kind: Literal["delete"] = "delete"
    node: str
    # why: "idle" (scale-down), "boot_timeout", "failed", "cap" (monthly cap reached)
    cause: Literal["idle", "boot_timeout", "failed", "cap"] = "idle"


class Disable(_Action):
    kind: Literal["disable"] = "disable"
    pool: str


class SwitchToRegular(_Action):
    kind: Literal["switch_to_regular"] = "switch_to_regular"
    pool: str


Action = Annotated[Create | Drain | Resume | Delete | Disable | SwitchToRegular, Field(discriminator="kind")]


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: float
    actions: list[Action]
    reason: str
