"""Bearer secrets: how they are made, recognised and hashed.

A secret reads ``hpb_<kind>_<random>`` (kind ``u`` user, ``n`` node, ``j`` pool join secret), so a leaked
one is recognisable by secret scanners and its kind is known before any lookup. 256 random bits make a
single unsalted sha256 enough to store it: nothing can be guessed from the hash. Comparisons run in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hpcburst.domain.identity import CredentialKind

PREFIX = "hpb_"
_KIND_LETTER = {CredentialKind.USER: "u", CredentialKind.NODE: "n", CredentialKind.JOIN: "j"}
_LETTER_KIND = {v: k for k, v in _KIND_LETTER.items()}
ID_LENGTH = 16


def new_secret(kind: CredentialKind) -> str:
    return f"{PREFIX}{_KIND_LETTER[kind]}_{secrets.token_urlsafe(32)}"


def kind_of(secret: str) -> CredentialKind | None:
    """The kind a well-formed secret claims, else None (then it is not one of ours)."""
    if not secret.startswith(PREFIX) or len(secret) < len(PREFIX) + 10 or secret[len(PREFIX) + 1] != "_":
        return None
    return _LETTER_KIND.get(secret[len(PREFIX)])


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_id(digest: str) -> str:
    return digest[:ID_LENGTH]


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
