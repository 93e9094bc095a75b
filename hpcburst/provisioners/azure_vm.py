"""The REST shapes of the Azure adapter, as plain data: the VM body a create sends, and a VM read back as a
``ProvisionedNode``. No SDK import: these are the JSON documents of the Compute REST API (virtualMachines).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hpcburst.errors import ConfigError
from hpcburst.provisioners.port import NodeState, PoolTarget, ProvisionedNode

POOL_TAG = "hpcburst-pool"
NETWORK_API_VERSION = (
    "2020-11-01"  # lets the VM create (and delete) its own NIC: networkInterfaceConfigurations
)
REQUIRED = ("resource_group", "region", "scale_set", "subnet_id", "cluster_url", "ssh_public_key")

_PROVISIONING: dict[str, NodeState] = {
    "creating": "Provisioning",
    "updating": "Provisioning",
    "migrating": "Provisioning",
    "succeeded": "Running",
    "deleting": "Deleting",
    "failed": "Failed",
    "canceled": "Failed",
}
_STOPPED = {"PowerState/deallocated", "PowerState/deallocating", "PowerState/stopped"}


def check_target(pool: PoolTarget) -> None:
    """ConfigError naming the first Azure field the pool lacks."""
    for name in REQUIRED:
        if not getattr(pool, name):
            raise ConfigError(f"pool {pool.pool}: set {name} for the azure provisioner", field=name)


def scale_set_id(subscription_id: str, pool: PoolTarget) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{pool.resource_group}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{pool.scale_set}"
    )


def vm_body(subscription_id: str, pool: PoolTarget, name: str, custom_data: str) -> dict[str, Any]:
    """The PUT body of one VM made into the pool's Flexible scale set (its NIC and OS disk go with it)."""
    properties: dict[str, Any] = {
        "virtualMachineScaleSet": {"id": scale_set_id(subscription_id, pool)},
        "hardwareProfile": {"vmSize": pool.vm_size},
        "storageProfile": {
            "imageReference": pool.image.model_dump(),
            "osDisk": {"createOption": "FromImage", "deleteOption": "Delete"},
        },
        "osProfile": {
            "computerName": name,
            "adminUsername": pool.admin_username,
            "customData": base64.b64encode(custom_data.encode()).decode(),
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {
                    "publicKeys": [
                        {
                            "path": f"/home/{pool.admin_username}/.ssh/authorized_keys",
                            "keyData": pool.ssh_public_key,
                        }
                    ]
                },
            },
        },
        "networkProfile": {
            "networkApiVersion": NETWORK_API_VERSION,
            "networkInterfaceConfigurations": [_nic(name, pool.subnet_id)],
        },
        "priority": "Spot" if pool.spot else "Regular",
    }
    if pool.spot:
        properties["evictionPolicy"] = pool.eviction_policy
        properties["billingProfile"] = {"maxPrice": pool.max_price}
    return {"location": pool.region, "tags": {POOL_TAG: pool.pool}, "properties": properties}


def _nic(name: str, subnet_id: str) -> dict[str, Any]:
    ip = {"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}}}
    return {
        "name": f"{name}-nic",
        "properties": {"primary": True, "deleteOption": "Delete", "ipConfigurations": [ip]},
    }


def to_node(vm: Mapping[str, Any], default_pool: str) -> ProvisionedNode:
    """A VM document (GET or list, with or without instanceView) as a ProvisionedNode."""
    properties = vm.get("properties") or {}
    statuses = {s.get("code") for s in (properties.get("instanceView") or {}).get("statuses") or []}
    state = _PROVISIONING.get(str(properties.get("provisioningState", "")).lower(), "Provisioning")
    if state == "Running" and statuses & _STOPPED:
        state = "Deallocated"
    created = properties.get("timeCreated")
    return ProvisionedNode(
        name=vm["name"],
        pool=(vm.get("tags") or {}).get(POOL_TAG, default_pool),
        state=state,
        created_at=datetime.fromisoformat(created).timestamp() if created else None,
        spot=properties.get("priority") == "Spot",
        vm_size=(properties.get("hardwareProfile") or {}).get("vmSize"),
        detail=str(properties.get("provisioningState", "")),
    )
