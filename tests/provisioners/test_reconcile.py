"""The orphan rule: nodes that exist, are not being deleted, never registered, and are past their grace."""

from __future__ import annotations

from hpcburst.provisioners.port import NodeState, ProvisionedNode
from hpcburst.provisioners.reconcile import orphans


def node(name: str, created_at: float | None, state: NodeState = "Running") -> ProvisionedNode:
    return ProvisionedNode(name=name, pool="burst", state=state, created_at=created_at)


def test_an_unregistered_node_past_its_grace_is_an_orphan() -> None:
    assert orphans([node("a", 1_000)], set(), now=1_601, grace=600) == ["a"]


def test_a_node_still_within_its_grace_is_not() -> None:
    assert orphans([node("a", 1_000)], set(), now=1_600, grace=600) == []


def test_a_registered_node_is_not() -> None:
    assert orphans([node("a", 0)], {"a"}, now=10_000, grace=600) == []


def test_a_node_being_deleted_is_not_but_failed_and_deallocated_ones_are() -> None:
    nodes = [node("a", 0, "Deleting"), node("b", 0, "Failed"), node("c", 0, "Deallocated")]
    assert orphans(nodes, set(), now=10_000, grace=600) == ["b", "c"]


def test_a_node_without_a_creation_time_cannot_prove_it_is_young() -> None:
    assert orphans([node("a", None)], set(), now=0, grace=600) == ["a"]
