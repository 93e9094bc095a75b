"""The provisioner port: create exactly named nodes for a pool, list what may bill, delete exactly named nodes.

Every adapter (``memory``, ``azure``) passes one contract suite (tests/provisioners/test_contract.py).
Errors: ``CapacityError`` (no capacity for this size/priority now), ``Throttled`` (wait
``details["retry_after"]`` seconds), else ``ProvisionerError``; ``InvalidSpec`` for a bad node name.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from hpcburst.domain.pool import POOL_NAME
from hpcburst.errors import InvalidSpec

NodeState = Literal["Provisioning", "Running", "Deleting", "Failed", "Deallocated"]

# A node name is the VM name, its Linux host name and the agent's node name: the strictest of the three
# (Linux computer names: at most 64 characters, letters, digits and inner hyphens).
NODE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")


class ImageReference(BaseModel):
    """A marketplace image (publisher/offer/sku/version); the default is Ubuntu 22.04 LTS, generation 2."""

    model_config = ConfigDict(frozen=True)

    publisher: str = "Canonical"
    offer: str = "0001-com-ubuntu-server-jammy"
    sku: str = "22_04-lts-gen2"
    version: str = "latest"


class PoolTarget(BaseModel):
    """Where and how a pool's cloud nodes are made. The Azure fields are ignored by other adapters."""

    model_config = ConfigDict(frozen=True)

    pool: str = Field(pattern=POOL_NAME)
    vm_size: str
    spot: bool = False
    max_price: float = -1  # Spot only: the most to pay per hour; -1 = up to the on-demand price
    eviction_policy: Literal["Delete", "Deallocate"] = "Delete"
    image: ImageReference = Field(default_factory=ImageReference)
    subscription_id: str = ""
    resource_group: str = ""
    region: str = ""
    scale_set: str = (
        ""  # a scale set with Flexible orchestration, made beforehand (docs/azure-provisioner.md)
    )
    subnet_id: str = ""
    cluster_url: str = ""  # what the agents call (HPCBURST_URL)
    admin_username: str = "hpcburst"
    ssh_public_key: str = ""
    extra_cloud_init: str = ""  # shell lines run (as root) after the agent is installed, before it starts
    agent_source: str = "hpcburst"  # what `pip install` gets: a requirement, a wheel URL or a git URL


class ProvisionedNode(BaseModel):
    """One cloud node as the provisioner sees it (not as the cluster sees it: see ``reconcile``)."""

    name: str
    pool: str
    state: NodeState
    created_at: float | None = None  # epoch seconds, when the cloud says it was created
    spot: bool = False
    vm_size: str | None = None
    detail: str = ""


class Provisioner(Protocol):
    """Makes and removes cloud nodes. Calls are idempotent per name: nodes are addressed by name only."""

    def create(self, pool: PoolTarget, names: list[str], join_token: str) -> list[ProvisionedNode]:
        """Start creating exactly these named nodes (each boots an agent that joins ``pool`` with the join
        token); returns one record per name, in order, Provisioning or already Running."""
        ...

    def delete(self, pool: PoolTarget, names: list[str]) -> None:
        """Delete exactly these nodes (never "reduce capacity", which picks its own victims); a name that
        does not exist is not an error (it may already be gone)."""
        ...

    def list(self, pool: PoolTarget) -> list[ProvisionedNode]:
        """Every node of the pool that exists and may bill, in any state, sorted by name."""
        ...


def check_names(names: list[str]) -> None:
    """InvalidSpec unless every name is a valid, distinct node name (shared by every adapter)."""
    if len(set(names)) != len(names):
        raise InvalidSpec(f"node names repeat: {sorted(n for n in set(names) if names.count(n) > 1)}")
    for name in names:
        if not NODE_NAME.match(name):
            raise InvalidSpec(
                f"node name {name!r} is not valid: use 1-64 letters, digits and inner hyphens", field="names"
            )
