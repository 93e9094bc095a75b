"""The HTTP routes function_app.py registers, read the way the runtime reads them."""

from __future__ import annotations

from functools import cache

import httpx

from hpcburst.client.local_cluster import LocalCluster
from hpcburst.devhost.app_loader import load_app
from hpcburst.devhost.catalog import HTTP, index_functions
from hpcburst.emulators import REPO_ROOT


@cache
def app_routes() -> list[tuple[str, str]]:
    specs = index_functions(load_app(REPO_ROOT).functions)
    routes = []
    for spec in specs:
        if spec.trigger_type == HTTP:
            for method in spec.methods or ["GET", "POST"]:
                routes.append((method, str(spec.trigger.get("route") or spec.name)))
    return sorted(routes)


def api(cluster: LocalCluster, token: str | None = None) -> httpx.Client:
    """The cluster's /api as the holder of ``token`` (None: anonymous)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{cluster.url}/api", headers=headers, timeout=30)
