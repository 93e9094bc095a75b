"""The provisioner contract: every adapter (memory, azure over the fake ARM) behaves the same."""

from __future__ import annotations

import pytest
from provisioner_support import Harness, pool_target

from hpcburst.errors import CapacityError, InvalidSpec, ProvisionerError, Throttled, http_status
from hpcburst.provisioners.reconcile import reconcile


def test_create_returns_one_record_per_name_in_order(harness: Harness) -> None:
    nodes = harness.provisioner.create(pool_target(), ["burst-b", "burst-a"], "join-secret")
    assert [n.name for n in nodes] == ["burst-b", "burst-a"]
    assert all(n.pool == "burst" and n.state in ("Provisioning", "Running") for n in nodes)


def test_list_shows_what_was_created_with_its_size_and_priority(harness: Harness) -> None:
    pool = pool_target()
    harness.provisioner.create(pool, ["burst-1", "burst-2"], "join-secret")
    nodes = harness.provisioner.list(pool)
    assert [n.name for n in nodes] == ["burst-1", "burst-2"]
    assert all(n.spot and n.vm_size == "Standard_D4s_v5" for n in nodes)
    assert all(n.created_at == harness.clock.now for n in nodes)


def test_list_shows_only_the_pools_own_nodes(harness: Harness) -> None:
    harness.provisioner.create(pool_target("burst"), ["burst-1"], "a")
    harness.provisioner.create(pool_target("other", spot=False), ["other-1"], "b")
    assert [n.name for n in harness.provisioner.list(pool_target("burst"))] == ["burst-1"]
    other = harness.provisioner.list(pool_target("other", spot=False))
    assert [(n.name, n.spot) for n in other] == [("other-1", False)]


def test_delete_removes_exactly_the_named_nodes(harness: Harness) -> None:
    pool = pool_target()
    harness.provisioner.create(pool, ["burst-1", "burst-2", "burst-3"], "join-secret")
    harness.provisioner.delete(pool, ["burst-2"])
    assert [n.name for n in harness.provisioner.list(pool)] == ["burst-1", "burst-3"]


def test_deleting_a_missing_node_is_not_an_error(harness: Harness) -> None:
    harness.provisioner.delete(pool_target(), ["never-made"])


@pytest.mark.parametrize("names", [["bad_name"], ["-leading"], ["x" * 65], ["dup", "dup"]])
def test_invalid_names_are_refused_before_anything_is_made(harness: Harness, names: list[str]) -> None:
    with pytest.raises(InvalidSpec):
        harness.provisioner.create(pool_target(), names, "join-secret")
    assert harness.provisioner.list(pool_target()) == []


def test_no_capacity_is_a_capacity_error(cloud_harness: Harness) -> None:
    cloud_harness.exhaust_capacity()
    with pytest.raises(CapacityError) as caught:
        cloud_harness.provisioner.create(pool_target(), ["burst-1"], "join-secret")
    assert http_status(caught.value) == 503
    assert isinstance(caught.value, ProvisionerError)
    assert "on-demand" in caught.value.message  # the message names a way out


def test_persistent_throttling_is_throttled_with_retry_after(cloud_harness: Harness) -> None:
    cloud_harness.throttle_always()
    with pytest.raises(Throttled) as caught:
        cloud_harness.provisioner.list(pool_target())
    assert http_status(caught.value) == 429
    assert caught.value.details["retry_after"] == 17


def test_an_evicted_spot_node_under_deallocate_still_shows_as_deallocated(harness: Harness) -> None:
    pool = pool_target()
    harness.provisioner.create(pool, ["burst-1"], "join-secret")
    harness.evict("burst-1")
    assert [n.state for n in harness.provisioner.list(pool)] == ["Deallocated"]


def test_reconcile_finds_the_orphan_but_not_a_young_or_registered_node(harness: Harness) -> None:
    pool = pool_target()
    harness.provisioner.create(pool, ["burst-old", "burst-joined"], "join-secret")
    harness.clock.now += 3_600
    harness.provisioner.create(pool, ["burst-young"], "join-secret")
    found = reconcile(harness.provisioner, pool, {"burst-joined"}, now=harness.clock.now + 60, grace=600)
    assert found == ["burst-old"]
