"""A pool: a named group of nodes that share a join secret and an admin's rules for tasks.

Stored in container ``pools`` (one partition, id = name). Bursting (provisioners, sizes, cost caps)
extends this record; the security fields are the join secrets (kept as token records, see
``hpcburst.domain.identity``) and ``allowed_workdirs``: the only absolute paths a task may name as its
working directory on this pool's nodes.
"""

from __future__ import annotations

import posixpath
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

POOL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
POOL_NAME_RULE = "1-100 letters, digits and . _ -, starting with a letter or digit"


class PoolSpec(BaseModel):
    """What an admin sets on a pool (create and set)."""

    model_config = ConfigDict(extra="forbid")

    allowed_workdirs: list[str] = Field(default_factory=list, max_length=100)
    description: str = Field(default="", max_length=500)

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

    def applied_to(self, pool: Pool) -> PoolSpec:
        return PoolSpec.model_validate({**pool.model_dump(include=set(PoolSpec.model_fields)),
                                        **self.model_dump(exclude_none=True)})  # fmt: skip


class JoinTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoke_others: bool = False
