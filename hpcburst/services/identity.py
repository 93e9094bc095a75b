"""Users and their bearer tokens, node credentials and pool join secrets: issue, list, revoke, authenticate.

Only hashes are stored (``hpcburst.auth.tokens``). ``authenticate`` answers from a short per-process cache
(``CACHE_SECONDS``) because agents call several times a second; a revoke through this process takes effect
at once, one through another instance within that time. Misses are never cached, so a token just issued
elsewhere works on its first call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hpcburst import constants as c
from hpcburst.auth import tokens
from hpcburst.domain.identity import (
    USER_NAME_RULE,
    CredentialKind,
    Principal,
    TokenRecord,
    User,
    valid_user_name,
)
from hpcburst.errors import Conflict, Forbidden, InvalidSpec, NotFound, Unauthorized
from hpcburst.storage.state.port import Document, StateStore, query_all

CACHE_SECONDS = 5.0
UNKNOWN_TOKEN = "the token is not valid (unknown, revoked or expired): ask an admin for a new one"


class IdentityService:
    def __init__(self, store: StateStore, clock: Callable[[], float] = time.time) -> None:
        self._store, self._clock = store, clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal]] = {}  # token hash -> (cached at, principal)

    # --- authentication ---
    def authenticate(self, secret: str) -> Principal:
        """The principal a bearer secret of ours stands for; ``Unauthorized`` otherwise."""
        kind = tokens.kind_of(secret)
        if kind is None:
            raise Unauthorized("the bearer token is not an hpcburst token")
        digest = tokens.secret_hash(secret)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        record = self._record(digest)
        if record is None or record.kind != kind:
            raise Unauthorized(UNKNOWN_TOKEN)
        principal = self._principal(record)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, principal)
        return principal

    def _record(self, digest: str) -> TokenRecord | None:
        try:
            record = _token(self._store.get(c.TOKENS, c.TOKENS, tokens.token_id(digest)))
        except NotFound:
            return None
        if not tokens.same_hash(record.hash, digest):
            return None
        if record.expires_at is not None and record.expires_at < self._clock():
            return None
        return record

    def _principal(self, record: TokenRecord) -> Principal:
        if record.kind == CredentialKind.USER:
            user = self.user(record.subject)  # a removed user's tokens die with it
            if user is None:
                raise Unauthorized(UNKNOWN_TOKEN)
            return Principal(kind=record.kind, name=user.name, admin=user.admin, token_id=record.id)
        name = record.subject if record.kind == CredentialKind.NODE else f"join:{record.pool}"
        return Principal(kind=record.kind, name=name, pool=record.pool, token_id=record.id)

    # --- tokens ---
    def issue(
        self,
        kind: CredentialKind,
        subject: str,
        pool: str | None = None,
        description: str = "",
        lifetime: float | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new secret (shown to its holder once) and its stored record."""
        secret = tokens.new_secret(kind)
        digest = tokens.secret_hash(secret)
        now = self._clock()
        record = TokenRecord(
            id=tokens.token_id(digest),
            hash=digest,
            kind=kind,
            subject=subject,
            pool=pool,
            created_at=now,
            expires_at=None if lifetime is None else now + lifetime,
            description=description,
        )
        self._store.create(c.TOKENS, c.TOKENS, record.id, record.model_dump(mode="json", exclude={"id"}))
        return secret, record

    def list_tokens(
        self, kind: CredentialKind | None = None, subject: str | None = None
    ) -> list[TokenRecord]:
        where: dict[str, Any] = {}
        if kind is not None:
            where["kind"] = kind.value
        if subject is not None:
            where["subject"] = subject
        docs = query_all(self._store, c.TOKENS, partition=c.TOKENS, where=where, limit=500)
        return [_token(d) for d in docs]

    def revoke(self, token_id: str, by: Principal | None = None) -> TokenRecord:
        """Delete a token. A user may revoke their own tokens; an admin any (``by`` None: the system)."""
        try:
            record = _token(self._store.get(c.TOKENS, c.TOKENS, token_id))
        except NotFound:
            raise NotFound(f"no token {token_id!r}; see `hpcburst token list`") from None
        mine = by is None or by.admin or (record.kind == CredentialKind.USER and record.subject == by.name)
        if not mine:
            raise NotFound(f"no token {token_id!r}; see `hpcburst token list`")
        self._store.delete(c.TOKENS, c.TOKENS, token_id)
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[1].token_id != token_id}
        return record

    def revoke_all(self, kind: CredentialKind, subject: str) -> int:
        records = self.list_tokens(kind, subject)
        for record in records:
            self.revoke(record.id)
        return len(records)

    # --- users ---
    def user(self, name: str) -> User | None:
        try:
            return User.model_validate(self._store.get(c.USERS, c.USERS, name).body)
        except NotFound:
            return None

    def add_user(self, name: str, admin: bool = False, by: str | None = None) -> tuple[User, str]:
        """Create a user with a first token; returns the user and the secret (shown once)."""
        if not valid_user_name(name):
            raise InvalidSpec(f"user name {name!r} is not valid: {USER_NAME_RULE}", field="name")
        user = User(name=name, admin=admin, created_at=self._clock(), created_by=by)
        try:
            self._store.create(c.USERS, c.USERS, name, user.model_dump(mode="json"))
        except Conflict:
            raise Conflict(
                f"user {name!r} exists; `hpcburst token create --user {name}` adds a token"
            ) from None
        secret, _ = self.issue(CredentialKind.USER, name, description="first token")
        return user, secret

    def list_users(self) -> list[User]:
        return [User.model_validate(d.body) for d in query_all(self._store, c.USERS, partition=c.USERS)]

    def remove_user(self, name: str, by: Principal) -> User:
        if name == by.name:
            raise Forbidden("you cannot remove yourself; ask another admin")
        user = self.user(name)
        if user is None:
            raise NotFound(f"no user {name!r}; see `hpcburst user list`")
        self.revoke_all(CredentialKind.USER, name)
        self._store.delete(c.USERS, c.USERS, name)
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[1].name != name}
        return user


def _token(doc: Document) -> TokenRecord:
    return TokenRecord.model_validate({**doc.body, "id": doc.id})
