"""Schemathesis hooks for ``scripts/fuzz`` (loaded through SCHEMATHESIS_HOOKS; not a pytest module).

A lease may long-poll for up to ``wait_seconds`` (0..120, capped by the service's max_lease_wait of
30 s), and the SOA long-polls (an agent's ``/agent/soa``, a client's ``/sessions/{id}/responses``) for up to
``wait`` (0..60): fuzzed values would spend the run waiting, past the fuzzer's 20 s read timeout. The wait is
capped at one second instead of leaving the operation out, so its body is still fuzzed whole.

Credentials come from an auth provider (so the checks that drop them see them as credentials): the agent
endpoints are called as an agent calls them, registration with the pool's join secret and the others with
the credential of the node run_fuzz.py registered, naming that node and pool (every other field is
fuzzed); the rest with the user token. With the user token alone the agent endpoints only ever say 403.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

MAX_WAIT = 1.0
NODE, POOL = "fuzz-node", "default"  # as registered by run_fuzz.py
LONG_POLLS = {
    "lease": "wait_seconds",
    "soa": "wait",
    "responses": "wait",
}  # last path segment -> its wait field


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    body = case.body
    path = case.operation.path
    if path.startswith("/api/agent/") and isinstance(body, dict):
        body["pool"] = POOL
        if not path.endswith("/register"):
            body["node"] = NODE
    field = LONG_POLLS.get(path.rsplit("/", 1)[-1]) if isinstance(body, dict) else None
    if field is not None:
        wait = body.get(field)
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > MAX_WAIT:
            body[field] = MAX_WAIT


@schemathesis.auth(refresh_interval=None)
class ClusterAuth:
    """Each operation with the credential its callers hold: an agent's for the agent endpoints (the pool's
    join secret to register, then the node's own), the user token (an admin's) for the rest."""

    def get(self, case: Any, context: Any) -> str | None:
        path = case.operation.path
        if path == "/api/agent/register":
            return os.environ.get("HPCBURST_FUZZ_JOIN_TOKEN")
        if path.startswith("/api/agent/"):
            return os.environ.get("HPCBURST_FUZZ_NODE_TOKEN")
        return os.environ.get("HPCBURST_FUZZ_USER_TOKEN")

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
