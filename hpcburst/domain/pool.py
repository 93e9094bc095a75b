"""A pool: a named group of nodes that share a join secret and an admin's rules for tasks.

Stored in container ``pools`` (one partition, id = name). The security fields are the join secrets (kept as
token records, see ``hpcburst.domain.identity``) and ``allowed_workdirs``: the only absolute paths a task may
name as its working directory on this pool's nodes. A burstable pool also has ``burst``: its provisioner,
sizes, price, timeouts and cost caps, which the burst policy reads as a ``BurstPool``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hpcburst.domain.burst.models import BurstPool, ScheduleEntry

POOL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
POOL_NAME_RULE = "1-100 letters, digits and . _ -, starting with a letter or digit"


class BurstSettings(BaseModel):
    """How a pool grows into the cloud: who makes its nodes, how many, what they cost (durations in seconds).

    ``vm_size`` is the provisioner's size name (``Standard_D4s_v5``; ``local-N`` for the local provisioner,
    N slots per node)."""

    model_config = ConfigDict(extra="forbid")

    provisioner: Literal["local", "azure"]
    min_nodes: int = Field(default=0, ge=0, le=10_000)
    max_nodes: int = Field(default=10, ge=0, le=10_000)
    slots_per_node: int = Field(default=4, ge=1, le=4096)
    vm_size: str | None = Field(default=None, max_length=100)
    spot: bool = False
    price_per_hour: float = Field(default=0.10, ge=0, le=1_000)
    idle_timeout: float = Field(default=300.0, ge=0, le=7 * 86400)
    boot_timeout: float = Field(default=600.0, gt=0, le=86400)
    delay_after_add: float = Field(default=600.0, ge=0, le=86400)
    cost_cap_per_hour: float | None = Field(default=None, ge=0)
    cost_cap_per_month: float | None = Field(default=None, ge=0)
    schedule: list[ScheduleEntry] = Field(default_factory=list, max_length=100)
    # after the n-th boot failure within an hour the pool creates nothing for backoff_base × 2^(n-1) s
    backoff_base: float = Field(default=60.0, ge=0, le=86400)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> BurstSettings:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) must not exceed max_nodes ({self.max_nodes})")
        return self


class PoolSpec(BaseModel):
    """What an admin sets on a pool (create and set)."""

    model_config = ConfigDict(extra="forbid")

    allowed_workdirs: list[str] = Field(default_factory=list, max_length=100)
    description: str = Field(default="", max_length=500)
    burst: BurstSettings | None = None  # None: the pool's nodes are the ones that join it by hand

    @field_validator("allowed_workdirs")
    @classmethod
    def _absolute_normal_paths(cls, value: list[str]) -> list[str]:
        cleaned = []
        for path in value:
            if not path.startswith("/") or "\0" in path or len(path) > 1024:
                raise ValueError(f"allowed workdir {path!r} must be an absolute POSIX path")
            normal = posixpath.normpath(path)
            if normal == "/":
                raise ValueError("allowing '/' would let tasks work anywhere; name a directory")
            cleaned.append(normal)
        return sorted(set(cleaned))


class Pool(PoolSpec):
    """The stored pool."""

    name: str = Field(pattern=POOL_NAME)
    created_at: float

    def document(self) -> dict[str, object]:
        return self.model_dump(mode="json")

    def burst_pool(self) -> BurstPool | None:
        """The pool as the burst policy sees it (None when it does not burst)."""
        if self.burst is None:
            return None
        return BurstPool(name=self.name, **self.burst.model_dump(exclude={"vm_size"}))


def valid_pool_name(name: str) -> bool:
    return bool(re.match(POOL_NAME, name))


class NewPool(PoolSpec):
    """POST /api/pools"""

    name: str = Field(pattern=POOL_NAME)


class PoolChange(BaseModel):
    """PATCH /api/pools/{pool}: the fields given replace the stored ones."""

    model_config = ConfigDict(extra="forbid")

    allowed_workdirs: list[str] | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    burst: BurstSettings | None = None  # replaces the stored settings whole
    no_burst: bool = False  # True: the pool stops bursting (its settings are removed)

    def applied_to(self, pool: Pool) -> PoolSpec:
        change = self.model_dump(exclude_none=True, exclude={"no_burst"})
        merged = {**pool.model_dump(include=set(PoolSpec.model_fields)), **change}
        if self.no_burst:
            merged["burst"] = None
        return PoolSpec.model_validate(merged)


class JoinTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoke_others: bool = False
