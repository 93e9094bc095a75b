"""Orphans: cloud nodes that exist (and may bill) but never registered with the cluster in time.

A pure rule over ``Provisioner.list``: the caller passes the registered node names, the clock and the grace
period, and deletes what comes back (``Provisioner.delete``) or reports it.
"""

from __future__ import annotations

from hpcburst.provisioners.port import PoolTarget, ProvisionedNode, Provisioner


def orphans(nodes: list[ProvisionedNode], registered: set[str], now: float, grace: float) -> list[str]:
    """Names of nodes not being deleted, not registered, and created more than ``grace`` seconds ago.

    A node without a creation time is treated as old: it cannot prove that it is still booting.
    """
    return sorted(
        node.name
        for node in nodes
        if node.state != "Deleting"
        and node.name not in registered
        and (node.created_at is None or now - node.created_at > grace)
    )


def reconcile(
    provisioner: Provisioner, pool: PoolTarget, registered: set[str], now: float, grace: float
) -> list[str]:
    """The pool's orphans right now (see ``orphans``); deleting them is the caller's decision."""
    return orphans(provisioner.list(pool), registered, now, grace)
