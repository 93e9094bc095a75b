"""What the provisioner tests share: pool targets, per-adapter harnesses and constructors (conftest.py holds
only the fixtures, so test modules import these by this module's own name)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_arm import Clock, FakeArm, FakeArmTransport, StaticCredential

from hpcburst.provisioners import local_process
from hpcburst.provisioners.azure import AzureVmssProvisioner
from hpcburst.provisioners.local import LocalProvisioner
from hpcburst.provisioners.memory import MemoryProvisioner
from hpcburst.provisioners.port import PoolTarget, Provisioner

ADAPTERS = ["memory", "azure", "local"]
DEAD_URL = "http://127.0.0.1:9"  # nothing listens: local agents keep retrying registration
SUBSCRIPTION = "8f1c6a5e-0d2b-4c1e-9a7e-3f4b5c6d7e8f"
UNIT = "[Unit]\nDescription=hpcburst node agent\n[Service]\nExecStart=/opt/hpcburst/.venv/bin/python -m nodeagent\n"


def pool_target(name: str = "burst", **changes: Any) -> PoolTarget:
    """A complete Azure-ready pool target (other adapters ignore the Azure fields)."""
    fields: dict[str, object] = {
        "pool": name,
        "vm_size": "Standard_D4s_v5",
        "spot": True,
        "max_price": 0.05,
        "eviction_policy": "Deallocate",
        "resource_group": "hpc-rg",
        "region": "westeurope",
        "scale_set": f"{name}-vmss",
        "subnet_id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/hpc-rg/providers/Microsoft.Network"
        "/virtualNetworks/hpc-vnet/subnets/burst",
        "cluster_url": "https://hpcburst-demo.azurewebsites.net",
        "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests admin@example",
    }
    return PoolTarget.model_validate({**fields, **changes})


@dataclass
class Harness:
    """An adapter plus the knobs of the cloud behind it, the same for every adapter."""

    provisioner: Provisioner
    clock: Clock
    exhaust_capacity: Callable[[], None]
    throttle_always: Callable[[], None]
    evict: Callable[[str], None]


def memory_harness(clock: Clock) -> Harness:
    fake = MemoryProvisioner(clock=lambda: clock.now)

    def exhaust() -> None:
        fake.capacity = len(fake.nodes)

    def throttle() -> None:
        fake.throttle_next(17)

    return Harness(fake, clock, exhaust, throttle, fake.evict)


def azure_harness(clock: Clock) -> Harness:
    arm = FakeArm(clock=clock)
    adapter = azure_provisioner(arm)

    def exhaust() -> None:
        arm.async_error = "AllocationFailed"

    def throttle() -> None:
        arm.throttle = 1_000

    return Harness(adapter, clock, exhaust, throttle, arm.evict)


def azure_provisioner(
    arm: FakeArm, transport: FakeArmTransport | None = None, **options: object
) -> AzureVmssProvisioner:
    """The Azure adapter wired to a fake ARM: no sleeping (the transport records sleeps), 2 retries."""
    options = {"agent_unit": UNIT, "polling_interval": 0, "retry_total": 2, **options}
    transport = transport or FakeArmTransport(arm)
    return AzureVmssProvisioner(StaticCredential(), SUBSCRIPTION, transport, **options)  # type: ignore[arg-type]


def local_provisioner(root: Path, **options: object) -> LocalProvisioner:
    """Real agents that never reach a cluster and stay up (no dead-man switch), stopped quickly."""
    options = {"dead_man_minutes": 0, "grace": 3.0, **options}
    return LocalProvisioner(root, DEAD_URL, **options)  # type: ignore[arg-type]


def stop_everything(provisioner: LocalProvisioner) -> None:
    """Whatever a test left running: SIGKILL every process group the registry names."""
    nodes = provisioner.registry.read().values()
    local_process.stop([n for n in nodes if local_process.alive(n)], signal.SIGKILL, 3.0)
