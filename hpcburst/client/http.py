"""The one place HTTP answers of the cluster's API become values or hpcburst errors (SDK and node agent).

The server answers errors as ``{"error": <type>, "message": ...}`` (``hpcburst.errors.error_body``); the
type name maps back to the same ``HpcBurstError`` subclass here, so callers catch ``NotFound`` and
friends as if the call were local. A connection failure becomes ``ClusterUnreachable`` naming the fix.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from hpcburst import constants as c
from hpcburst import errors

DEFAULT_URL = "http://127.0.0.1:7071"


def cluster_url(url: str | None = None) -> str:
    """The API base URL: the argument, else HPCBURST_URL, else the local cluster's default."""
    return (url or os.environ.get(c.ENV_URL) or DEFAULT_URL).rstrip("/")


def auth_headers(token: str | None = None, url: str | None = None) -> dict[str, str]:
    token = resolve_token(token, url)
    return {"Authorization": f"Bearer {token}"} if token else {}


def resolve_token(token: str | None = None, url: str | None = None) -> str | None:
    """The user token to send: the argument, else HPCBURST_TOKEN, else the admin token `hpcburst up` keeps
    for the local cluster (only when ``url`` is that cluster's, so it never travels to another host)."""
    if token:
        return token
    if os.environ.get(c.ENV_TOKEN):
        return os.environ[c.ENV_TOKEN]
    if url is None:
        return None
    from hpcburst.client.local_cluster import local_admin_token  # not at the top: it loads more

    return local_admin_token(url)


def error_from(response: httpx.Response) -> errors.HpcBurstError:
    """The hpcburst error an error response stands for."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        kind = getattr(errors, str(body["error"]), None)
        message = str(body.get("message") or body["error"])
        raw = body.get("details")
        details: dict[str, object] = raw if isinstance(raw, dict) else {}
        if isinstance(kind, type) and issubclass(kind, errors.HpcBurstError):
            return kind(message, **details)
        error = errors.HpcBurstError(message, **details)
    else:
        text = (
            response.text.strip().splitlines()[0][:200] if response.text.strip() else response.reason_phrase
        )
        error = errors.HpcBurstError(f"HTTP {response.status_code} from {response.request.url}: {text}")
    error.status = response.status_code
    return error


def unwrap(response: httpx.Response) -> Any:
    """The JSON body of a 2xx response (None if empty); otherwise raise the error it carries."""
    if response.is_success:
        return response.json() if response.content else None
    raise error_from(response)


def send(client: httpx.Client, url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to the cluster at ``url``; a connection failure becomes ``ClusterUnreachable``."""
    try:
        return client.request(method, path, **kwargs)
    except httpx.TransportError as e:
        raise errors.ClusterUnreachable(
            f"cannot reach the cluster at {url} ({type(e).__name__}): start it with `hpcburst up`, "
            f"or point {c.ENV_URL} at a running one"
        ) from e
