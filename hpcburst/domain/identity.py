"""Who is calling: principals (users, nodes, pool join secrets) and the stored user and token records.

Three kinds of bearer credential exist, and each may call only its own part of the API:
- a **user** token (or an Entra ID identity) submits and manages the user's own jobs; an admin user also
  manages users, pools and nodes and sees every job;
- a **join** secret of a pool may only register a node into that pool;
- a **node** credential, handed out by registration, is bound to (pool, node) and may only heartbeat,
  lease and report as that node.
Pure: no I/O (``hpcburst.services.identity`` stores and checks them).
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
USER_NAME_RULE = "1-100 letters, digits and . _ @ + -, starting with a letter or digit"


class CredentialKind(StrEnum):
    USER = "user"
    NODE = "node"
    JOIN = "join"


class Principal(BaseModel):
    """The authenticated caller of one request."""

    model_config = ConfigDict(frozen=True)

    kind: CredentialKind
    name: str  # user name, node name, or "join:<pool>"
    admin: bool = False
    pool: str | None = None  # nodes and join secrets: the pool they are bound to
    token_id: str | None = None  # the token used (None for Entra / App Service identities)

    @property
    def is_user(self) -> bool:
        return self.kind == CredentialKind.USER

    def owns(self, owner: str) -> bool:
        """May this caller act on a job owned by ``owner``? (Admins may act on every job.)"""
        return self.is_user and (self.admin or self.name == owner)


class User(BaseModel):
    """The stored user record (container ``users``, one partition, id = name)."""

    name: str
    admin: bool = False
    created_at: float
    created_by: str | None = None


class TokenInfo(BaseModel):
    """What listings show of a credential: never its secret or hash. ``id`` is public (the first 16 hex
    digits of the hash): it names the token in listings and revokes."""

    id: str
    kind: CredentialKind
    subject: str  # the user's name, the node's name, or the pool's name for a join secret
    pool: str | None = None
    created_at: float
    expires_at: float | None = None
    description: str = Field(default="", max_length=200)


class TokenRecord(TokenInfo):
    """A stored credential: only the sha256 of the secret is kept (container ``tokens``, id = ``id``)."""

    hash: str

    def public(self) -> TokenInfo:
        return TokenInfo.model_validate(self.model_dump(exclude={"hash"}))


class WhoAmI(BaseModel):
    """GET /api/whoami"""

    kind: CredentialKind
    name: str
    admin: bool
    pool: str | None = None


def valid_user_name(name: str) -> bool:
    return bool(USER_NAME.match(name))


class NewUser(BaseModel):
    """POST /api/users"""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    admin: bool = False


class NewToken(BaseModel):
    """POST /api/tokens: a further token for yourself (or, for an admin, for ``user``)."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, max_length=100)
    description: str = Field(default="", max_length=200)
    expires_in: float | None = Field(default=None, gt=0, le=10 * 365 * 86400, description="seconds")
