"""Storage connections named by bindings, resolved from app settings as the Functions host does.

A binding's ``connection`` names an app setting: ``X`` (then ``AzureWebJobsX``) holding a connection
string, or ``X__queueServiceUri`` / ``X__serviceUri`` for an identity-based connection. An empty name
means ``AzureWebJobsStorage``. One WorkQueue per distinct connection, built on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from hpcburst import constants as c
from hpcburst.emulators import azurite_connection_string
from hpcburst.errors import ConfigError
from hpcburst.storage.queue.azure import AzureWorkQueue
from hpcburst.storage.queue.port import WorkQueue

DEV_STORAGE = "UseDevelopmentStorage=true"


def resolve_setting(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``%NAME%`` binding expressions with the app setting NAME."""
    env = os.environ if environ is None else environ
    if not (value.startswith("%") and value.endswith("%") and len(value) > 2):
        return value
    name = value[1:-1]
    if name not in env:
        raise ConfigError(f"binding expression {value!r} names the app setting {name!r}, which is not set")
    return env[name]


def describe_connection(name: str | None, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """("connection-string" | "account-url", value) for a binding's ``connection``; ConfigError if unset."""
    env = os.environ if environ is None else environ
    setting = name or c.ENV_STORAGE_CONNECTION
    for candidate in (setting, f"AzureWebJobs{setting}"):
        value = env.get(candidate)
        if value:
            if value.strip().rstrip(";").lower() == DEV_STORAGE.lower():
                return "connection-string", azurite_connection_string(10000, 10001)
            return "connection-string", value
    for suffix in ("__queueServiceUri", "__serviceUri"):
        value = env.get(setting + suffix)
        if value:
            return "account-url", value
    raise ConfigError(
        f"the connection {setting!r} is not set: add {setting!r} (a storage connection string) to "
        "local.settings.json Values or the environment"
    )


class QueueConnections:
    """WorkQueues by connection setting name, shared by queue triggers and queue outputs."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._by_value: dict[tuple[str, str], WorkQueue] = {}
        self._lock = threading.Lock()

    def check(self, name: str | None) -> None:
        """Fail now (at host start) if the setting is missing or malformed."""
        self.get(name)

    def get(self, name: str | None) -> WorkQueue:
        key = describe_connection(name, self._environ)
        with self._lock:
            queue = self._by_value.get(key)
            if queue is None:
                kind, value = key
                try:
                    if kind == "connection-string":
                        queue = AzureWorkQueue.from_connection_string(value)
                    else:
                        queue = AzureWorkQueue.from_account_url(value)
                except ValueError as err:
                    setting = name or c.ENV_STORAGE_CONNECTION
                    raise ConfigError(
                        f"the connection {setting!r} is not a valid storage connection: {err}"
                    ) from None
                self._by_value[key] = queue
            return queue

    def close(self) -> None:
        with self._lock:
            queues, self._by_value = list(self._by_value.values()), {}
        for queue in queues:
            close = getattr(queue, "close", None)
            if close:
                close()
