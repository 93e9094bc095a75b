"""SOA sessions for users: write a service (``Service``, ``@svc.operation``, ``RetryOperation``), open sessions
and stream requests through a ``concurrent.futures``-style executor (``connect``, ``SessionStartInfo``).

Names load lazily, so a service host importing ``hpcburst.soa`` does not pay for the client's imports.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # service authoring and the host side (hpcburst.soa.service)
    "Service": "hpcburst.soa.service",
    "RetryOperation": "hpcburst.soa.service",
    "common_data": "hpcburst.soa.service",
    # the client (hpcburst.soa.client and friends)
    "SessionStartInfo": "hpcburst.domain.soa.models",
    "SessionView": "hpcburst.domain.soa.models",
    "SessionState": "hpcburst.domain.soa.models",
    "ServiceRegistration": "hpcburst.domain.soa.models",
    "connect": "hpcburst.soa.client",
    "Client": "hpcburst.soa.client",
    "Session": "hpcburst.soa.session",
    "DurableSession": "hpcburst.soa.session",
    "SessionExecutor": "hpcburst.soa.executor",
    "SoaFuture": "hpcburst.soa.futures",
    "as_completed": "hpcburst.soa.futures",
    "wait": "hpcburst.soa.futures",
    "SoaFault": "hpcburst.soa.responses",
    "Response": "hpcburst.soa.responses",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hpcburst.soa' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)
