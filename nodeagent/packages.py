"""Application packages on the node: the newest version of each package for the node's pool, installed under
CCP_PACKAGE_ROOT at start and re-checked periodically (HPC Pack's hpcsync), by ``hpcburst.data``."""

from __future__ import annotations

import logging
from pathlib import Path

from hpcburst.data.package_install import BetweenTasks
from hpcburst.errors import HpcBurstError
from hpcburst.storage.blob.port import BlobStore

log = logging.getLogger("nodeagent")
# Seconds between package checks: a check is one blob listing, so a new version reaches every node
# within half a minute of `hpcburst pkg upload` without anyone running hpcsync on each node.
SYNC_INTERVAL = 30.0


def sync_packages(
    package_root: Path, pool: str, store: BlobStore | None, between_tasks: BetweenTasks | None = None
) -> bool:
    """Install what the pool needs, reading packages from ``store`` (the node's own storage connection, or
    the service's read+list grant on the package container); False without one. A new version is swapped in
    only ``between_tasks`` (``Agent.between_tasks``), so no running task sees its package change."""
    try:
        if store is None:
            return False
        from hpcburst.data.package_install import PackageInstaller

        report = PackageInstaller(package_root, store).sync(pool, between_tasks)
    except HpcBurstError as e:
        log.warning("package sync failed: %s", e.message)
        return True
    for name, version in report.installed:
        log.info("installed package %s v%d", name, version)
    for name, version, why in report.failed:
        log.warning("package %s v%d not installed: %s", name, version, why)
    return True
