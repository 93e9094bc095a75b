"""Schemathesis hooks for ``scripts/fuzz`` (loaded through SCHEMATHESIS_HOOKS; not a pytest module).

A lease may long-poll for up to ``wait_seconds`` (0..120, capped by the service's max_lease_wait of
30 s): fuzzed values would spend the run waiting. The wait is capped at one second instead of leaving
the operation out, so its body is still fuzzed whole.
"""

from __future__ import annotations

from typing import Any

import schemathesis

MAX_WAIT = 1.0


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    body = case.body
    if case.operation.path.endswith("/agent/lease") and isinstance(body, dict):
        wait = body.get("wait_seconds")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > MAX_WAIT:
            body["wait_seconds"] = MAX_WAIT
