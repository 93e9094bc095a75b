"""Users, tokens and pools through the cluster's API (``Scheduler.access``); secrets are returned once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Call = Callable[..., Any]


class Access:
    def __init__(self, call: Call) -> None:
        self._call = call

    def whoami(self) -> dict[str, Any]:
        return self._call("GET", "/api/whoami")  # type: ignore[no-any-return]

    # --- users (admins) ---
    def add_user(self, name: str, admin: bool = False) -> dict[str, Any]:
        """``{"user": {...}, "token": secret}``: the secret is shown this once."""
        return self._call("POST", "/api/users", json={"name": name, "admin": admin})  # type: ignore[no-any-return]

    def users(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/users")["users"]  # type: ignore[no-any-return]

    def remove_user(self, name: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/users/{name}")  # type: ignore[no-any-return]

    # --- tokens ---
    def tokens(self, user: str | None = None) -> list[dict[str, Any]]:
        params = {"user": user} if user else {}
        return self._call("GET", "/api/tokens", params=params)["tokens"]  # type: ignore[no-any-return]

    def create_token(
        self, user: str | None = None, description: str = "", expires_in: float | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"description": description}
        if user:
            body["user"] = user
        if expires_in:
            body["expires_in"] = expires_in
        return self._call("POST", "/api/tokens", json=body)  # type: ignore[no-any-return]

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/tokens/{token_id}")  # type: ignore[no-any-return]

    # --- pools (admins) ---
    def pools(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/pools")["pools"]  # type: ignore[no-any-return]

    def pool(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/api/pools/{name}")  # type: ignore[no-any-return]

    def create_pool(
        self,
        name: str,
        allowed_workdirs: list[str] | None = None,
        description: str = "",
        burst: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``burst``: the pool's burst settings (``hpcburst.domain.pool.BurstSettings``), or None."""
        body: dict[str, Any] = {
            "name": name,
            "allowed_workdirs": allowed_workdirs or [],
            "description": description,
        }
        body["burst"] = burst
        return self._call("POST", "/api/pools", json=body)  # type: ignore[no-any-return]

    def change_pool(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/api/pools/{name}", json=fields)  # type: ignore[no-any-return]

    def delete_pool(self, name: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/pools/{name}")  # type: ignore[no-any-return]

    def join_token(self, pool: str, revoke_others: bool = False) -> str:
        body = self._call("POST", f"/api/pools/{pool}/join-tokens", json={"revoke_others": revoke_others})
        return str(body["token"])
