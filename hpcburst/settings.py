"""One frozen settings object, built from the environment (or a mapping) at the edge of each process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hpcburst import constants as c
from hpcburst.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    state_backend: str = "sqlite"  # "sqlite" | "cosmos"
    sqlite_path: Path = Path(".hpcburst/state.db")
    cosmos_endpoint: str | None = None
    cosmos_key: str | None = None  # None: use azure-identity (managed identity / az login)
    cosmos_database: str = "hpcburst"
    cosmos_verify_tls: bool = True
    storage_connection: str | None = None  # AzureWebJobsStorage
    storage_account_url: str | None = None  # with azure-identity instead of a connection string
    data_dir: Path = Path(".hpcburst")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get(c.ENV_DATA_DIR, ".hpcburst"))
        backend = env.get(c.ENV_STATE_BACKEND, "sqlite").lower()
        if backend not in ("sqlite", "cosmos"):
            raise ConfigError(f"{c.ENV_STATE_BACKEND}={backend!r}: use 'sqlite' or 'cosmos'")
        settings = cls(
            state_backend=backend,
            sqlite_path=Path(env.get(c.ENV_SQLITE_PATH, str(data_dir / "state.db"))),
            cosmos_endpoint=env.get(c.ENV_COSMOS_ENDPOINT) or None,
            cosmos_key=env.get(c.ENV_COSMOS_KEY) or None,
            cosmos_database=env.get(c.ENV_COSMOS_DATABASE, "hpcburst"),
            cosmos_verify_tls=env.get(c.ENV_COSMOS_VERIFY_TLS, "true").lower() not in ("0", "false", "no"),
            storage_connection=env.get(c.ENV_STORAGE_CONNECTION) or None,
            storage_account_url=env.get(c.ENV_STORAGE_ACCOUNT_URL) or None,
            data_dir=data_dir,
        )
        if backend == "cosmos" and not settings.cosmos_endpoint:
            raise ConfigError(f"{c.ENV_STATE_BACKEND}=cosmos needs {c.ENV_COSMOS_ENDPOINT}")
        return settings
