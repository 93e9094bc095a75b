"""Provisioners: the port that creates, lists and deletes cloud nodes for a pool (burst capacity).

``port`` holds the Protocol and its models, ``memory`` the in-memory fake, ``azure`` the Azure virtual machine
scale set adapter (Flexible orchestration), ``cloud_init`` the boot script every cloud node runs, and
``reconcile`` the pure rule that finds orphans: nodes that bill but never joined.
"""

from hpcburst.provisioners.port import ImageReference, NodeState, PoolTarget, ProvisionedNode, Provisioner

__all__ = ["ImageReference", "NodeState", "PoolTarget", "ProvisionedNode", "Provisioner"]
