"""What a SAS URL says about itself, read without the SDK: where it points, what it allows, until when.

A service SAS URL is ``{account_url}/{container}[/{blob}]?sv=..&sp=PERMS&se=EXPIRY&sr=b|c&sig=..``.
Agents read ``sp`` and ``se`` to know, without a round trip, whether a grant can read and whether it
must be renewed first.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from hpcburst.errors import ConfigError


def sas_query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sas_permissions(url: str) -> str:
    """The ``sp`` letters of a SAS URL ("" when it has none)."""
    return sas_query(url).get("sp", "")


def sas_expiry(url: str) -> float | None:
    """The ``se`` of a SAS URL as epoch seconds; None when it has none (or an unreadable one)."""
    raw = sas_query(url).get("se")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def split_container_url(url: str) -> tuple[str, str, str]:
    """(account URL, container, SAS token) of a container URL such as ``https://a.blob.../c?sv=...``."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    account_path, _, container = path.rpartition("/")
    if not container:
        raise ConfigError(f"grant {parts.scheme}://{parts.netloc}{parts.path} names no container")
    return urlunsplit((parts.scheme, parts.netloc, account_path, "", "")), unquote(container), parts.query
