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


def install_if_missing(package_root: Path, pool: str, store: BlobStore | None, name: str) -> None:
    """Install package ``name`` now when the node has none of it yet (a service host needs it before the next
    periodic sync). Only that package, and only a first install: nothing running can see it change."""
    if store is None or (package_root / name).is_dir():
        return
    from hpcburst.data.package_install import PackageInstaller
    from hpcburst.data.packages import list_packages, newest_for_pool

    try:
        wanted = newest_for_pool(list_packages(store), pool).get(name)
        if wanted is None:
            log.warning("package %s is not published for pool %s", name, pool)
            return
        PackageInstaller(package_root, store).install(wanted)
        log.info("installed package %s v%d for a service host", name, wanted.version)
    except (HpcBurstError, OSError) as e:
        log.warning("package %s not installed: %s", name, e.message if isinstance(e, HpcBurstError) else e)
