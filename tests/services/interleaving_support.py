"""A state store that runs a step of another actor at an exact point of a service's own store calls, so a
race between two services is replayed in one fixed order (no threads, no sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpcburst.storage.state.port import StateStore


class Interleaving:
    """Delegates to ``inner``; once, right after the first call of ``method`` whose arguments satisfy
    ``when``, runs ``then`` (the other actor's step) before returning that call's result."""

    def __init__(
        self, inner: StateStore, method: str, when: Callable[..., bool], then: Callable[[], object]
    ) -> None:
        self.inner, self.method, self.when, self.then = inner, method, when, then
        self.fired = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name != self.method:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if not self.fired and self.when(*args, **kwargs):
                self.fired = True
                self.then()
            return result

        return call
