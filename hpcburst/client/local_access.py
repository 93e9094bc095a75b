"""The local cluster's first credentials: an admin for the local user and a join secret per pool.

`hpcburst up` writes them straight into the cluster's own state store (the machine's owner may: the store
is a file in their data dir) and keeps the secrets in 0600 files beside it, so the README's commands need
no extra step: the CLI finds ``admin.token`` by itself and local agents get their pool's join secret.
A secret that no longer works (revoked, or the state was wiped) is replaced.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from hpcburst.domain.identity import CredentialKind, valid_user_name
from hpcburst.errors import HpcBurstError
from hpcburst.services.identity import IdentityService
from hpcburst.services.pools import PoolService
from hpcburst.settings import Settings
from hpcburst.storage.state.port import StateStore

ADMIN_TOKEN_FILE = "admin.token"


class LocalAccess:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        from hpcburst.storage import factory

        self._dir = data_dir
        self._store: StateStore = factory.build_state_store(Settings.from_env(env))
        self._identity = IdentityService(self._store)
        self._pools = PoolService(self._store, self._identity)

    def admin_token(self) -> str:
        path = self._dir / ADMIN_TOKEN_FILE
        secret = self._working(path)
        if secret is None:
            name = local_user_name()
            user = self._identity.user(name)
            if user is None:
                _, secret = self._identity.add_user(name, admin=True, by="hpcburst up")
            else:
                secret, _ = self._identity.issue(CredentialKind.USER, name, description="hpcburst up")
            _write_secret(path, secret)
        return secret

    def join_token(self, pool: str) -> str:
        path = self._dir / f"join-{pool}.token"
        secret = self._working(path)
        if secret is None:
            self._pools.ensure(pool)
            secret = self._pools.join_token(pool)
            _write_secret(path, secret)
        return secret

    def close(self) -> None:
        self._store.close()

    def _working(self, path: Path) -> str | None:
        try:
            secret = path.read_text().strip()
            self._identity.authenticate(secret)
            return secret
        except (OSError, HpcBurstError):
            return None


def local_user_name() -> str:
    """The login name when it is a valid hpcburst user name, else "admin"."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        return "admin"
    return name if valid_user_name(name) else "admin"


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    os.replace(tmp, path)
