"""The Azure provisioner: named VMs in a virtual machine scale set with Flexible orchestration.

Create PUTs each named VM with a ``virtualMachineScaleSet`` reference (Flexible orchestration accepts VMs
made one by one, by name), so nodes are addressed by name from the first call; delete removes exactly the
named VMs (with their NICs and OS disks, by ``deleteOption``), never "reduce capacity". Only VMs tagged with
the pool are listed, so the reconciler never touches a VM that hpcburst did not make.
Long-running operations are polled by azure-core (Azure-AsyncOperation, then the resource); 429s are retried
by its retry policy, honouring Retry-After. The roles it needs: docs/azure-provisioner.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.core.pipeline.transport import HttpTransport
from azure.core.polling import LROPoller
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import VirtualMachine

from hpcburst.errors import CapacityError, ConfigError, ProvisionerError, Throttled
from hpcburst.provisioners.azure_vm import POOL_TAG, check_target, scale_set_id, to_node, vm_body
from hpcburst.provisioners.cloud_init import render_cloud_init, repo_agent_unit
from hpcburst.provisioners.port import PoolTarget, ProvisionedNode, check_names

CAPACITY_CODES = {
    "SkuNotAvailable",
    "AllocationFailed",
    "OverconstrainedAllocationRequest",
    "OverconstrainedZonalAllocationRequest",
    "ZonalAllocationFailed",
}
THROTTLE_CODES = {"TooManyRequests", "SubscriptionRequestsThrottled"}
QUOTA_CODES = {"OperationNotAllowed", "QuotaExceeded"}
T = TypeVar("T")


class AzureVmssProvisioner:
    """Provisioner on Azure (see the module docstring). ``wait=False`` returns after the PUTs are accepted
    (the nodes read Provisioning; failures then show as Failed in ``list``); ``client_options`` go to the
    ComputeManagementClient (e.g. ``polling_interval``, ``retry_total``)."""

    def __init__(
        self,
        credential: TokenCredential,
        subscription_id: str,
        transport: HttpTransport | None = None,
        *,
        agent_unit: str | None = None,
        wait: bool = True,
        **client_options: Any,
    ) -> None:
        if transport is not None:
            client_options["transport"] = transport
        self._client = ComputeManagementClient(credential, subscription_id, **client_options)
        self._subscription_id = subscription_id
        self._agent_unit = agent_unit
        self._wait = wait

    def create(self, pool: PoolTarget, names: list[str], join_token: str) -> list[ProvisionedNode]:
        check_names(names)
        self._check(pool)
        unit = self._agent_unit if self._agent_unit is not None else repo_agent_unit()
        started: list[tuple[str, LROPoller[VirtualMachine]]] = []
        for name in names:
            custom_data = render_cloud_init(pool, name, join_token, unit)
            body = VirtualMachine(vm_body(self._subscription_id, pool, name, custom_data))
            try:
                started.append(
                    (
                        name,
                        self._client.virtual_machines.begin_create_or_update(pool.resource_group, name, body),
                    )
                )
            except AzureError as error:
                raise _failed(error, f"create {name}", [n for n, _ in started]) from error
        if not self._wait:
            return [_provisioning(pool, name) for name in names]
        return _finish(started, "create", lambda vm: to_node(vm, pool.pool))

    def delete(self, pool: PoolTarget, names: list[str]) -> None:
        self._check(pool)
        started: list[tuple[str, LROPoller[None]]] = []
        for name in names:
            try:
                started.append((name, self._client.virtual_machines.begin_delete(pool.resource_group, name)))
            except ResourceNotFoundError:
                continue  # already gone: deleting is idempotent
            except AzureError as error:
                raise _failed(error, f"delete {name}", []) from error
        if self._wait:
            _finish(started, "delete", lambda _: None)

    def list(self, pool: PoolTarget) -> list[ProvisionedNode]:
        self._check(pool)
        set_filter = f"'virtualMachineScaleSet/id' eq '{scale_set_id(self._subscription_id, pool)}'"
        try:
            vms = list(
                self._client.virtual_machines.list(
                    pool.resource_group, filter=set_filter, expand="instanceView"
                )
            )
        except AzureError as error:
            raise _failed(error, f"list {pool.scale_set}", []) from error
        mine = [vm for vm in vms if (vm.get("tags") or {}).get(POOL_TAG) == pool.pool]
        return sorted((to_node(vm, pool.pool) for vm in mine), key=lambda node: node.name)

    def _check(self, pool: PoolTarget) -> None:
        check_target(pool)
        if pool.subscription_id and pool.subscription_id != self._subscription_id:
            raise ConfigError(
                f"pool {pool.pool} is in subscription {pool.subscription_id}, this provisioner in "
                f"{self._subscription_id}: build one provisioner per subscription",
                field="subscription_id",
            )


def _finish(started: list[tuple[str, LROPoller[Any]]], verb: str, done: Callable[[Any], T]) -> list[T]:
    """Wait for every operation; raise the first failure (naming what did finish) after all ended."""
    results: list[T] = []
    finished: list[str] = []
    first: ProvisionerError | None = None
    for name, poller in started:
        try:
            results.append(done(poller.result()))
            finished.append(name)
        except AzureError as error:
            first = first or _failed(error, f"{verb} {name}", finished)
    if first is not None:
        first.details["finished"] = finished
        raise first
    return results


def _provisioning(pool: PoolTarget, name: str) -> ProvisionedNode:
    return ProvisionedNode(
        name=name, pool=pool.pool, state="Provisioning", spot=pool.spot, vm_size=pool.vm_size
    )


def _failed(error: AzureError, what: str, finished: list[str]) -> ProvisionerError:
    """The hpcburst error for an Azure one: capacity, throttling, else a ProvisionerError naming the fix."""
    status = getattr(error, "status_code", None)
    odata = getattr(error, "error", None)
    code = getattr(odata, "code", None) or ""
    reason = getattr(odata, "message", None) or str(error).splitlines()[0]
    details: dict[str, object] = {"code": code, "status": status, "finished": finished}
    if status == 429 or code in THROTTLE_CODES:
        return Throttled(
            f"{what}: Azure throttled the request ({reason}); retry after the given seconds",
            retry_after=_retry_after(error),
            **details,
        )
    if code in QUOTA_CODES:  # a 409 too, but waiting or another zone will not help: a quota increase will
        return ProvisionerError(
            f"{what}: the subscription's quota is used up ({code}: {reason}); request a quota increase for "
            "this VM family and region (Spot has its own quota), or lower the pool's max nodes",
            **details,
        )
    if code in CAPACITY_CODES or status == 409:
        return CapacityError(
            f"{what}: Azure has no capacity now ({code}: {reason}); try another VM size, region or zone, "
            "or on-demand instead of Spot",
            **details,
        )
    if status in (401, 403):
        return ProvisionerError(
            f"{what}: not authorized ({code}: {reason}); grant the roles in docs/azure-provisioner.md",
            **details,
        )
    return ProvisionerError(f"{what} failed ({code or status or type(error).__name__}: {reason})", **details)


def _retry_after(error: AzureError) -> float:
    response = getattr(error, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0
