"""Pools: create, show, change, delete, and mint join secrets that let nodes register into them."""

from __future__ import annotations

import time
from collections.abc import Callable

from hpcburst import constants as c
from hpcburst.domain.identity import CredentialKind
from hpcburst.domain.pool import POOL_NAME_RULE, Pool, PoolSpec, valid_pool_name
from hpcburst.errors import Conflict, InvalidSpec, NotFound
from hpcburst.services.identity import IdentityService
from hpcburst.storage.state.port import StateStore, query_all


class PoolService:
    def __init__(
        self, store: StateStore, identity: IdentityService, clock: Callable[[], float] = time.time
    ) -> None:
        self._store, self._identity, self._clock = store, identity, clock

    def create(self, name: str, spec: PoolSpec) -> Pool:
        if not valid_pool_name(name):
            raise InvalidSpec(f"pool name {name!r} is not valid: {POOL_NAME_RULE}", field="name")
        pool = Pool(name=name, created_at=self._clock(), **spec.model_dump())
        try:
            self._store.create(c.POOLS, c.POOLS, name, pool.document())
        except Conflict:
            raise Conflict(f"pool {name!r} exists; change it with `hpcburst pool set {name}`") from None
        return pool

    def ensure(self, name: str) -> Pool:
        """The pool, created with defaults if it does not exist (the local cluster's start-up)."""
        try:
            return self.get(name)
        except NotFound:
            try:
                return self.create(name, PoolSpec())
            except Conflict:
                return self.get(name)

    def get(self, name: str) -> Pool:
        try:
            return Pool.model_validate(self._store.get(c.POOLS, c.POOLS, name).body)
        except NotFound:
            raise NotFound(f"no pool {name!r}; create it with `hpcburst pool create {name}`") from None

    def list_pools(self) -> list[Pool]:
        return [Pool.model_validate(d.body) for d in query_all(self._store, c.POOLS, partition=c.POOLS)]

    def update(self, name: str, spec: PoolSpec) -> Pool:
        while True:
            try:
                doc = self._store.get(c.POOLS, c.POOLS, name)
            except NotFound:
                raise NotFound(f"no pool {name!r}; create it with `hpcburst pool create {name}`") from None
            pool = Pool.model_validate({**doc.body, **spec.model_dump()})
            try:
                self._store.replace(c.POOLS, c.POOLS, name, pool.document(), if_match=doc.etag)
                return pool
            except Conflict:
                continue

    def delete(self, name: str) -> Pool:
        pool = self.get(name)
        self._identity.revoke_all(CredentialKind.JOIN, name)
        self._store.delete(c.POOLS, c.POOLS, name)
        return pool

    def join_token(self, name: str, revoke_others: bool = False) -> str:
        """A new join secret for the pool (shown once); ``revoke_others`` retires the earlier ones."""
        self.get(name)
        if revoke_others:
            self._identity.revoke_all(CredentialKind.JOIN, name)
        secret, _ = self._identity.issue(CredentialKind.JOIN, name, pool=name, description="join secret")
        return secret

    def allowed_roots(self, name: str | None) -> list[str]:
        """The absolute workdirs a job on pool ``name`` may use (none for a job without a pool)."""
        if name is None:
            return []
        try:
            return self.get(name).allowed_workdirs
        except NotFound:
            return []
