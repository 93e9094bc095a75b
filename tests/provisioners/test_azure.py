"""What the Azure adapter sends and how it reads ARM's answers (through the fake ARM; see fake_arm.py)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from fake_arm import FakeArm, FakeArmTransport
from provisioner_support import SUBSCRIPTION, azure_provisioner, pool_target

from hpcburst.errors import CapacityError, ConfigError, ProvisionerError, Throttled

SET_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/hpc-rg/providers/Microsoft.Compute"
    "/virtualMachineScaleSets/burst-vmss"
)


def puts(arm: FakeArm) -> list[dict[str, Any]]:
    return [body for method, _, body in arm.requests if method == "PUT" and body is not None]


def test_a_spot_node_is_a_named_vm_in_the_flexible_scale_set() -> None:
    arm = FakeArm()
    azure_provisioner(arm).create(pool_target(), ["burst-1"], "s3cret-join")
    (method, url, body), *_ = arm.requests
    assert method == "PUT" and url.split("?")[0].endswith(
        "/resourceGroups/hpc-rg/providers/Microsoft.Compute/virtualMachines/burst-1"
    )
    assert body is not None
    props = body["properties"]
    assert props["virtualMachineScaleSet"] == {"id": SET_ID}
    assert props["priority"] == "Spot"
    assert props["evictionPolicy"] == "Deallocate"
    assert props["billingProfile"] == {"maxPrice": 0.05}
    assert props["hardwareProfile"] == {"vmSize": "Standard_D4s_v5"}
    assert props["osProfile"]["computerName"] == "burst-1"
    assert props["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] is True
    assert props["networkProfile"]["networkApiVersion"] == "2020-11-01"
    nic = props["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]
    assert nic["deleteOption"] == "Delete" and props["storageProfile"]["osDisk"]["deleteOption"] == "Delete"
    assert body["tags"] == {"hpcburst-pool": "burst"} and body["location"] == "westeurope"


def test_custom_data_is_the_cloud_init_that_joins_the_pool() -> None:
    arm = FakeArm()
    azure_provisioner(arm).create(pool_target(), ["burst-1"], "s3cret-join")
    text = base64.b64decode(puts(arm)[0]["properties"]["osProfile"]["customData"]).decode()
    assert text.startswith("#cloud-config\n")
    env = next(f for f in yaml.safe_load(text)["write_files"] if f["path"] == "/etc/hpcburst/agent.env")
    assert "HPCBURST_URL=https://hpcburst-demo.azurewebsites.net\n" in env["content"]
    assert "HPCBURST_JOIN_TOKEN=s3cret-join\n" in env["content"]
    assert "HPCBURST_NODE=burst-1\n" in env["content"]


def test_an_on_demand_node_has_regular_priority_and_no_spot_fields() -> None:
    arm = FakeArm()
    azure_provisioner(arm).create(pool_target(spot=False), ["burst-1"], "s3cret-join")
    props = puts(arm)[0]["properties"]
    assert props["priority"] == "Regular"
    assert "evictionPolicy" not in props and "billingProfile" not in props


def test_creation_polls_the_async_operation_then_reads_the_vm() -> None:
    arm = FakeArm()
    (node,) = azure_provisioner(arm).create(pool_target(), ["burst-1"], "s3cret-join")
    calls = [(m, "/operations/" in u, u.split("?")[0].rsplit("/", 1)[-1]) for m, u, _ in arm.requests]
    op = calls[1][2]
    assert calls == [
        ("PUT", False, "burst-1"),
        ("GET", True, op),
        ("GET", True, op),
        ("GET", False, "burst-1"),
    ]
    assert node.state == "Running" and node.detail == "Succeeded"


def test_without_waiting_create_returns_provisioning_records_after_the_puts() -> None:
    arm = FakeArm()
    nodes = azure_provisioner(arm, wait=False).create(pool_target(), ["burst-1", "burst-2"], "s3cret-join")
    assert [(n.name, n.state) for n in nodes] == [("burst-1", "Provisioning"), ("burst-2", "Provisioning")]
    assert len(puts(arm)) == 2


def test_delete_waits_for_each_named_vm_and_touches_no_other() -> None:
    arm = FakeArm()
    adapter = azure_provisioner(arm)
    adapter.create(pool_target(), ["burst-1", "burst-2"], "s3cret-join")
    arm.requests.clear()
    adapter.delete(pool_target(), ["burst-2"])
    deletes = [u.split("?")[0].rsplit("/", 1)[-1] for m, u, _ in arm.requests if m == "DELETE"]
    assert deletes == ["burst-2"] and set(arm.vms) == {"burst-1"}


def test_one_throttle_is_retried_after_the_retry_after_header() -> None:
    arm = FakeArm(throttle=1)
    transport = FakeArmTransport(arm)
    adapter = azure_provisioner(arm, transport=transport)
    nodes = adapter.create(pool_target(), ["burst-1"], "s3cret-join")
    assert [n.state for n in nodes] == ["Running"]
    assert 17.0 in transport.sleeps  # honoured ARM's Retry-After (recorded, not slept)


def test_persistent_throttling_raises_throttled_with_arms_retry_after() -> None:
    arm = FakeArm(throttle=100, retry_after="42")
    with pytest.raises(Throttled) as caught:
        azure_provisioner(arm).create(pool_target(), ["burst-1"], "s3cret-join")
    assert caught.value.details["retry_after"] == 42 and caught.value.details["code"] == "TooManyRequests"


@pytest.mark.parametrize(
    "code",
    ["SkuNotAvailable", "AllocationFailed", "OverconstrainedAllocationRequest", "ZonalAllocationFailed"],
)
def test_a_refused_put_for_capacity_is_a_capacity_error(code: str) -> None:
    arm = FakeArm(sync_error=(409, code))
    with pytest.raises(CapacityError) as caught:
        azure_provisioner(arm).create(pool_target(), ["burst-1"], "s3cret-join")
    assert caught.value.details["code"] == code


def test_an_allocation_failure_found_by_polling_is_a_capacity_error_naming_what_finished() -> None:
    arm = FakeArm()
    adapter = azure_provisioner(arm)
    adapter.create(pool_target(), ["burst-1"], "s3cret-join")
    arm.async_error = "AllocationFailed"
    with pytest.raises(CapacityError) as caught:
        adapter.create(pool_target(), ["burst-2"], "s3cret-join")
    assert caught.value.details["code"] == "AllocationFailed"
    assert "sufficient capacity" in caught.value.message
    failed = [n for n in adapter.list(pool_target()) if n.name == "burst-2"]
    assert [n.state for n in failed] == ["Failed"]  # it bills nothing but exists: the reconciler removes it


def test_missing_rights_name_the_roles_document() -> None:
    arm = FakeArm(sync_error=(403, "AuthorizationFailed"))
    with pytest.raises(ProvisionerError) as caught:
        azure_provisioner(arm).create(pool_target(), ["burst-1"], "s3cret-join")
    assert "docs/azure-provisioner.md" in caught.value.message
    assert not isinstance(caught.value, CapacityError)


def test_list_reads_the_scale_set_with_instance_view_and_skips_vms_hpcburst_did_not_make() -> None:
    arm = FakeArm()
    adapter = azure_provisioner(arm)
    adapter.create(pool_target(), ["burst-1", "hand-made"], "s3cret-join")
    arm.vms["hand-made"]["tags"] = {}
    arm.requests.clear()
    assert [n.name for n in adapter.list(pool_target())] == ["burst-1"]
    ((_, url, _),) = arm.requests
    assert "$expand=instanceView" in url and "virtualMachineScaleSet%2Fid" in url


def test_the_join_token_never_comes_back_from_arm() -> None:
    arm = FakeArm()
    adapter = azure_provisioner(arm)
    adapter.create(pool_target(), ["burst-1"], "s3cret-join")
    assert all("s3cret-join" not in repr(n) for n in adapter.list(pool_target()))


def test_a_pool_without_a_subnet_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        azure_provisioner(FakeArm()).create(pool_target(subnet_id=""), ["burst-1"], "s3cret-join")
    assert caught.value.details["field"] == "subnet_id"


def test_a_pool_in_another_subscription_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        azure_provisioner(FakeArm()).list(pool_target(subscription_id="another-subscription"))


@pytest.mark.parametrize("code", ["OperationNotAllowed", "QuotaExceeded"])
def test_a_quota_refusal_is_not_mistaken_for_missing_capacity(code: str) -> None:
    arm = FakeArm(sync_error=(409, code))
    with pytest.raises(ProvisionerError) as caught:
        azure_provisioner(arm).create(pool_target(), ["burst-1"], "s3cret-join")
    assert not isinstance(caught.value, CapacityError) and "quota increase" in caught.value.message
