"""Principals for tests that call services directly (the HTTP edge would authenticate them)."""

from hpcburst.domain.identity import CredentialKind, Principal

ADMIN = Principal(kind=CredentialKind.USER, name="tester", admin=True)
ALICE = Principal(kind=CredentialKind.USER, name="alice")
BOB = Principal(kind=CredentialKind.USER, name="bob")


def joiner(pool: str = "default") -> Principal:
    """A holder of ``pool``'s join secret."""
    return Principal(kind=CredentialKind.JOIN, name=f"join:{pool}", pool=pool)


def node_credential(node: str, pool: str = "default") -> Principal:
    """The credential registration gave ``node``."""
    return Principal(kind=CredentialKind.NODE, name=node, pool=pool)
