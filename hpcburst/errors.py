"""The error hierarchy: every error hpcburst raises on purpose derives from HpcBurstError.

Each error carries the HTTP status it maps to, so functions, the CLI and the SDK translate
errors in one place (see ``hpcburst.errors.http_status``).
"""

from __future__ import annotations


class HpcBurstError(Exception):
    """Root of all deliberate hpcburst errors."""

    status: int = 500

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidSpec(HpcBurstError):
    """A request or specification is malformed; the message names the field."""

    status = 400


class Unauthenticated(HpcBurstError):
    """No credential, or one that is not valid (HTTP 401)."""

    status = 401


Unauthorized = Unauthenticated  # the older name: a 401 always reads "Unauthenticated" on the wire


class Forbidden(HpcBurstError):
    """The caller is known but may not do this (HTTP 403): e.g. a node credential calling a user endpoint."""

    status = 403


class PathRefused(Forbidden):
    """A path a task named leads out of its directory (through '..', a link or a swap): refused on the node."""


class NotFound(HpcBurstError):
    """The addressed item does not exist."""

    status = 404


class Conflict(HpcBurstError):
    """A compare-and-set lost its race (etag mismatch) or the item already exists."""

    status = 409


class InvalidState(HpcBurstError):
    """The operation is not allowed in the item's current state (e.g. cancel a finished job)."""

    status = 409


class LeaseExpired(HpcBurstError):
    """A lease (queue message visibility or work lease) was lost to timeout or another holder."""

    status = 409


class PayloadTooLarge(HpcBurstError):
    status = 413


class IntegrityError(HpcBurstError):
    """Data read back does not match its recorded hash."""

    status = 422


class StorageUnavailable(HpcBurstError):
    """A backing service (storage account, database, emulator) cannot be reached."""

    status = 503


class ClusterUnreachable(StorageUnavailable):
    """The cluster's HTTP API cannot be reached (not started, wrong HPCBURST_URL, network down)."""


class ProvisionerError(HpcBurstError):
    """A cloud provisioner refused or failed a request (HTTP 502: the upstream cloud said no); the message
    names the fix. Root of CapacityError and Throttled."""

    status = 502


class CapacityError(ProvisionerError):
    """The cloud has no capacity for this size/priority now: try another size, region, zone or on-demand."""

    status = 503


class Throttled(ProvisionerError):
    """The cloud's API throttled the request; ``details["retry_after"]`` says how many seconds to wait."""

    status = 429


class ConfigError(HpcBurstError):
    """Settings are missing or inconsistent; the message names the setting to fix."""

    status = 500


def http_status(error: BaseException) -> int:
    """The HTTP status an error maps to (500 for anything not deliberate)."""
    return error.status if isinstance(error, HpcBurstError) else 500


def error_body(error: BaseException) -> dict[str, object]:
    """The JSON body every HTTP error response carries."""
    if isinstance(error, HpcBurstError):
        body: dict[str, object] = {"error": type(error).__name__, "message": error.message}
        if error.details:
            body["details"] = {k: v for k, v in error.details.items()}
        return body
    return {"error": "InternalError", "message": "internal error; see the server log"}
