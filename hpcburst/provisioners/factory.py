"""Which provisioner makes a pool's nodes, and where: chosen by the pool's ``burst.provisioner``, configured
from the environment of the process that runs the burst controller (the Functions app).

``local`` (cloud nodes are agent processes on this machine):
    HPCBURST_LOCAL_NODES_DIR   their work root (default $HPCBURST_DATA_DIR/cloud-nodes)
    HPCBURST_LOCAL_BOOT_DELAY  seconds between create and the agent starting (default 0)
    HPCBURST_LOCAL_FAIL_RATE   share of nodes that never boot (default 0), HPCBURST_LOCAL_SEED its RNG seed
    HPCBURST_URL               what the agents call
``azure`` (named VMs in a Flexible scale set; roles in docs/azure-provisioner.md):
    HPCBURST_AZURE_SUBSCRIPTION_ID, HPCBURST_AZURE_RESOURCE_GROUP, HPCBURST_AZURE_REGION,
    HPCBURST_AZURE_SUBNET_ID, HPCBURST_AZURE_SCALE_SET (default hpcburst-POOL),
    HPCBURST_AZURE_SSH_PUBLIC_KEY, HPCBURST_AZURE_AGENT_SOURCE (what `pip install` gets on the VM),
    HPCBURST_PUBLIC_URL (what the VMs call; default HPCBURST_URL); credentials: DefaultAzureCredential.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.pool import Pool
from hpcburst.errors import ConfigError
from hpcburst.provisioners.port import PoolTarget, Provisioner

ENV_LOCAL_NODES_DIR = "HPCBURST_LOCAL_NODES_DIR"
ENV_LOCAL_BOOT_DELAY = "HPCBURST_LOCAL_BOOT_DELAY"
ENV_LOCAL_FAIL_RATE = "HPCBURST_LOCAL_FAIL_RATE"
ENV_LOCAL_SEED = "HPCBURST_LOCAL_SEED"
ENV_PUBLIC_URL = "HPCBURST_PUBLIC_URL"
AZURE_ENV = {
    "subscription_id": "HPCBURST_AZURE_SUBSCRIPTION_ID",
    "resource_group": "HPCBURST_AZURE_RESOURCE_GROUP",
    "region": "HPCBURST_AZURE_REGION",
    "subnet_id": "HPCBURST_AZURE_SUBNET_ID",
    "scale_set": "HPCBURST_AZURE_SCALE_SET",
    "ssh_public_key": "HPCBURST_AZURE_SSH_PUBLIC_KEY",
    "agent_source": "HPCBURST_AZURE_AGENT_SOURCE",
}
# How often the controller may list a pool's nodes: a local list reads a file, an Azure list is an ARM call
# (subscriptions allow a few thousand reads an hour, shared with everything else).
LIST_EVERY = {"local": 0.0, "azure": 30.0}


class Provisioners:
    """One provisioner per kind, made on first use (``made`` lets tests hand in their own)."""

    def __init__(
        self, env: Mapping[str, str] | None = None, made: dict[str, Provisioner] | None = None
    ) -> None:
        self._env = dict(os.environ if env is None else env)
        self._made: dict[str, Provisioner] = dict(made or {})

    def for_pool(self, pool: Pool) -> tuple[Provisioner, PoolTarget]:
        """The pool's provisioner and target; ConfigError naming the setting to fix when it cannot be made."""
        assert pool.burst is not None, "only burstable pools have a provisioner"
        kind = pool.burst.provisioner
        if kind not in self._made:
            self._made[kind] = self._make(kind)
        return self._made[kind], self.target(pool)

    def target(self, pool: Pool) -> PoolTarget:
        assert pool.burst is not None
        burst = pool.burst
        if burst.provisioner == "local":
            size = burst.vm_size or f"local-{burst.slots_per_node}"
            return PoolTarget(pool=pool.name, vm_size=size, spot=burst.spot)
        azure = {field: self._env[var] for field, var in AZURE_ENV.items() if self._env.get(var)}
        azure.setdefault("scale_set", f"hpcburst-{pool.name}")
        url = self._env.get(ENV_PUBLIC_URL) or self._env.get(c.ENV_URL, "")
        extra: dict[str, Any] = {k: v for k, v in azure.items() if k != "subscription_id"}
        return PoolTarget(pool=pool.name, vm_size=burst.vm_size or "Standard_D4s_v5", spot=burst.spot,
                          subscription_id=azure.get("subscription_id", ""), cluster_url=url, **extra)  # fmt: skip

    def _make(self, kind: str) -> Provisioner:
        if kind == "local":
            return self._local()
        if kind == "azure":
            return self._azure()
        raise ConfigError(f"no provisioner {kind!r}: use local or azure", field="provisioner")

    def _local(self) -> Provisioner:
        from hpcburst.provisioners.local import LocalProvisioner

        url = self._env.get(c.ENV_URL)
        if not url:
            raise ConfigError(
                f"the local provisioner needs {c.ENV_URL}: the URL its agents call", field=c.ENV_URL
            )
        default_root = Path(self._env.get(c.ENV_DATA_DIR, ".hpcburst")) / "cloud-nodes"
        seed = self._env.get(ENV_LOCAL_SEED)
        return LocalProvisioner(
            Path(self._env.get(ENV_LOCAL_NODES_DIR) or default_root),
            url,
            boot_delay=_number(self._env, ENV_LOCAL_BOOT_DELAY, 0.0),
            fail_rate=_number(self._env, ENV_LOCAL_FAIL_RATE, 0.0),
            seed=int(seed) if seed else None,
        )

    def _azure(self) -> Provisioner:
        subscription = self._env.get(AZURE_ENV["subscription_id"])
        if not subscription:
            raise ConfigError(
                f"the azure provisioner needs {AZURE_ENV['subscription_id']} (and the other HPCBURST_AZURE_* "
                "settings, see docs/azure-provisioner.md)",
                field=AZURE_ENV["subscription_id"],
            )
        from azure.identity import DefaultAzureCredential

        from hpcburst.provisioners.azure import AzureVmssProvisioner

        # wait=False: a tick must not block on a VM's boot; failures show up as Failed in the next list.
        return AzureVmssProvisioner(DefaultAzureCredential(), subscription, wait=False)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number", field=name) from None
