"""HTTP auth levels with function and master keys, as the Functions host checks them.

Keys come from the app settings ``HPCBURST_DEVHOST_MASTER_KEY`` / ``HPCBURST_DEVHOST_FUNCTION_KEY``
when set, else from ``<data dir>/keys.json`` (created with random keys on first start). A request
carries its key in the ``code`` query parameter or the ``x-functions-key`` header.
``anonymous`` needs nothing; ``function`` accepts a function key or the master key; ``admin``
only the master key.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hpcburst.errors import ConfigError

MASTER_KEY_SETTING = "HPCBURST_DEVHOST_MASTER_KEY"
FUNCTION_KEY_SETTING = "HPCBURST_DEVHOST_FUNCTION_KEY"
KEYS_FILE = "keys.json"
KEY_HEADER = "x-functions-key"
KEY_PARAM = "code"


@dataclass(frozen=True)
class Keys:
    master: str
    function_keys: tuple[str, ...]
    path: Path

    def allows(self, auth_level: str, provided: str | None) -> bool:
        if auth_level == "anonymous":
            return True
        if not provided:
            return False
        if hmac.compare_digest(provided.encode(), self.master.encode()):
            return True
        if auth_level == "admin":
            return False
        return any(hmac.compare_digest(provided.encode(), key.encode()) for key in self.function_keys)


def _new_key() -> str:
    return secrets.token_urlsafe(32)


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"cannot read the function keys in {path} ({err}): fix or delete the file"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("masterKey"), str):
        raise ConfigError(f"{path} must hold {{'masterKey': ..., 'functionKeys': {{'default': ...}}}}")
    return data


def load_keys(data_dir: Path, environ: Mapping[str, str] | None = None) -> Keys:
    """The keys from the settings, else from the data dir (written there with new keys if absent)."""
    env = os.environ if environ is None else environ
    path = data_dir / KEYS_FILE
    if path.exists():
        data = _read(path)
    else:
        data = {"masterKey": _new_key(), "functionKeys": {"default": _new_key()}}
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
    file_keys = data.get("functionKeys") or {}
    function_keys = [str(v) for v in file_keys.values()] if isinstance(file_keys, dict) else []
    master = env.get(MASTER_KEY_SETTING) or str(data["masterKey"])
    if env.get(FUNCTION_KEY_SETTING):
        function_keys = [env[FUNCTION_KEY_SETTING]]
    return Keys(master, tuple(function_keys), path)


def key_of(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The key a request presents (header first, then ``?code=``)."""
    return headers.get(KEY_HEADER) or query.get(KEY_PARAM)
