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
    # tests only: settle @vercel/cosmosdb-server's 500 for a missing item with a query (cosmos.py)
    cosmos_emulator: bool = False
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
            cosmos_verify_tls=_flag(env, c.ENV_COSMOS_VERIFY_TLS, default=True),
            cosmos_emulator=_flag(env, c.ENV_COSMOS_EMULATOR, default=False),
            storage_connection=env.get(c.ENV_STORAGE_CONNECTION) or None,
            storage_account_url=env.get(c.ENV_STORAGE_ACCOUNT_URL) or _identity_account_url(env),
            data_dir=data_dir,
        )
        if backend == "cosmos" and not settings.cosmos_endpoint:
            raise ConfigError(f"{c.ENV_STATE_BACKEND}=cosmos needs {c.ENV_COSMOS_ENDPOINT}")
        if backend == "sqlite" and env.get(c.ENV_AZURE_INSTANCE):
            # Every scaled-out instance would keep its own database file: jobs would vanish between calls.
            raise ConfigError(
                f"{c.ENV_STATE_BACKEND}=sqlite cannot run in Azure ({c.ENV_AZURE_INSTANCE} is set): "
                f"set {c.ENV_STATE_BACKEND}=cosmos and {c.ENV_COSMOS_ENDPOINT}"
            )
        return settings


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.lower() not in ("0", "false", "no")


def _identity_account_url(env: Mapping[str, str]) -> str | None:
    """The blob endpoint of ``AzureWebJobsStorage__accountName``: the Functions host's identity-based storage
    setting, so a deployment names its account once for the host's triggers and for the app's own clients
    (public cloud; elsewhere set HPCBURST_STORAGE_ACCOUNT_URL, which wins)."""
    account = env.get(c.ENV_STORAGE_ACCOUNT_NAME)
    return f"https://{account}.blob.core.windows.net" if account else None
