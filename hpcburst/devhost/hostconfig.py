"""host.json and local.settings.json, read as the Functions host and Core Tools read them.

- ``HostConfig.load(app_dir)``: routePrefix, queue options, Durable concurrency (defaults as documented).
- ``LocalSettings.load(app_dir)``: ``Values`` become app settings (environment variables); a variable
  already set in the environment wins, as `func start` does ("Skipping 'X' from local settings as it's
  already defined in current environment variables").
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcburst.errors import ConfigError

_SPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")


def parse_timespan(value: object, where: str) -> float:
    """Seconds in a .NET TimeSpan string ('00:00:30', '1.00:00:00') or a plain number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _SPAN.match(str(value).strip())
    if not match:
        raise ConfigError(f"host.json {where}: {value!r} is not a TimeSpan like '00:00:30'")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path} is not valid JSON (line {err.lineno}: {err.msg}): fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data


_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}


def _log_level(name: object) -> int:
    """A .NET log level name (host.json logging.logLevel) as a Python logging level."""
    if name is None:
        return logging.INFO
    level = _LEVELS.get(str(name).lower())
    if level is None:
        raise ConfigError(f"host.json logging.logLevel.default={name!r}: use one of {', '.join(_LEVELS)}")
    return level


@dataclass(frozen=True)
class QueueOptions:
    """host.json extensions.queues (defaults from the Storage Queues extension)."""

    batch_size: int = 16
    new_batch_threshold: int = 8 * (os.cpu_count() or 1)
    visibility_timeout: float = 0.0  # delay before a failed message is retried
    max_dequeue_count: int = 5
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> QueueOptions:
        batch = int(raw.get("batchSize", 16))
        if not 1 <= batch <= 32:
            raise ConfigError(f"host.json extensions.queues.batchSize={batch}: use 1..32")
        threshold = raw.get("newBatchThreshold")
        return cls(
            batch_size=batch,
            new_batch_threshold=int(threshold)
            if threshold is not None
            else batch // 2 * (os.cpu_count() or 1),
            visibility_timeout=parse_timespan(
                raw.get("visibilityTimeout", 0), "extensions.queues.visibilityTimeout"
            ),
            max_dequeue_count=int(raw.get("maxDequeueCount", 5)),
            max_polling_interval=parse_timespan(
                raw.get("maxPollingInterval", "00:01:00"), "extensions.queues.maxPollingInterval"
            ),
            message_encoding=str(raw.get("messageEncoding", "base64")).lower(),
        )


@dataclass(frozen=True)
class DurableOptions:
    """host.json extensions.durableTask (defaults: 10 x processors, as the extension documents)."""

    hub_name: str = "hpcburst"
    max_activities: int = 10 * (os.cpu_count() or 1)
    max_orchestrations: int = 10 * (os.cpu_count() or 1)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DurableOptions:
        default = 10 * (os.cpu_count() or 1)
        return cls(
            hub_name=str(raw.get("hubName", "hpcburst")),
            max_activities=int(raw.get("maxConcurrentActivityFunctions", default)),
            max_orchestrations=int(raw.get("maxConcurrentOrchestratorFunctions", default)),
        )


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueueOptions = field(default_factory=QueueOptions)
    durable: DurableOptions = field(default_factory=DurableOptions)
    log_level: int = logging.INFO  # logging.logLevel.default
    found: bool = False  # whether host.json exists

    @classmethod
    def load(cls, app_dir: Path) -> HostConfig:
        path = app_dir / "host.json"
        if not path.exists():
            return cls()
        data = _read_json(path)
        extensions = data.get("extensions") or {}
        http = extensions.get("http") or {}
        try:
            return cls(
                route_prefix=str(http.get("routePrefix", "api")).strip("/"),
                queues=QueueOptions.from_json(extensions.get("queues") or {}),
                durable=DurableOptions.from_json(extensions.get("durableTask") or {}),
                log_level=_log_level(((data.get("logging") or {}).get("logLevel") or {}).get("default")),
                found=True,
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{path}: {err}") from None


@dataclass(frozen=True)
class LocalSettings:
    values: dict[str, str] = field(default_factory=dict)
    local_http_port: int | None = None

    @classmethod
    def load(cls, app_dir: Path) -> LocalSettings:
        path = app_dir / "local.settings.json"
        if not path.exists():
            return cls()
        data = _read_json(path)
        if data.get("IsEncrypted"):
            raise ConfigError(
                f"{path} is encrypted: run `func settings decrypt` or write the values in plain text"
            )
        raw_values = data.get("Values") or {}
        values = {
            str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw_values.items() if v is not None
        }
        port = (data.get("Host") or {}).get("LocalHttpPort")
        return cls(values=values, local_http_port=int(port) if port else None)

    def apply(self, environ: MutableMapping[str, str]) -> tuple[list[str], list[str]]:
        """Put the values into ``environ`` unless already set; returns (applied, skipped) names."""
        applied, skipped = [], []
        for name, value in self.values.items():
            if not name:
                continue
            if name in environ:
                skipped.append(name)
                continue
            environ[name] = value
            applied.append(name)
        return applied, skipped
