"""When a session closes by itself, when to look again, and how long a closed durable session's responses
stay (pure functions over ``SessionRecord``; the orchestration's tick feeds them what the broker saw).

HPC Pack's semantics:

- A client that makes no call (submit, response poll, status) for ``client_idle_timeout`` counts as gone;
  a client that never called counts from the session's creation.
- **Interactive** sessions close when their client is gone (``client_idle_timeout``): their requests and
  responses live only in the broker, and nobody is left to collect them.
- **Durable** sessions outlive their clients: they close when no client has been attached and no request
  has been left to answer for ``session_idle_timeout``. The idle time starts when both became true: the
  later of "the last client counted as gone" and "the last outstanding request was answered".
- A closed durable session's unacknowledged responses stay ``response_ttl`` seconds after it closed.
"""

from __future__ import annotations

from hpcburst.domain.soa.models import SessionRecord, SessionState
from hpcburst.errors import InvalidState

MIN_CHECK = 1.0  # seconds: never look again sooner (a tick costs an activity and a record read)
MAX_CHECK = 30.0  # seconds: always look again this soon (backlog and clients change unannounced)


def client_gone_at(record: SessionRecord, last_client_call: float | None) -> float:
    """When the last client counts as gone: its last call (or the session's creation) + client_idle_timeout."""
    since = last_client_call if last_client_call is not None else record.created_at
    return since + record.client_idle_timeout


def work_idle_since(previous: float | None, now: float, outstanding: int) -> float | None:
    """Since when the session has had no request pending or in flight (None: it has some now). ``previous``
    is what the last check said, so the idle time survives between checks."""
    if outstanding > 0:
        return None
    return previous if previous is not None else now


def session_idle_at(record: SessionRecord, last_client_call: float | None, work_idle: float | None) -> float:
    """When a durable session with no client and no work became idle (its idle timeout counts from here)."""
    gone = client_gone_at(record, last_client_call)
    return gone if work_idle is None else max(gone, work_idle)


def idle_verdict(
    record: SessionRecord,
    now: float,
    last_client_call: float | None,
    outstanding: int,
    attached_clients: int,
    work_idle: float | None = None,
) -> str | None:
    """The reason the session closes now, or None (see the module docstring for the rules).

    ``outstanding``: requests pending or in flight; ``attached_clients``: clients not idle; ``work_idle``:
    since when nothing was outstanding (``work_idle_since``), None if unknown (then only the clients count).
    Only an Active session closes by itself."""
    if record.state is not SessionState.ACTIVE:
        return None
    if not record.durable:
        if now >= client_gone_at(record, last_client_call):
            return f"client idle: no client call for {record.client_idle_timeout:g} s (client_idle_timeout)"
        return None
    if attached_clients > 0 or outstanding > 0:
        return None
    if now >= session_idle_at(record, last_client_call, work_idle) + record.session_idle_timeout:
        return (
            f"session idle: no client and no request for {record.session_idle_timeout:g} s "
            "(session_idle_timeout)"
        )
    return None


def next_check(
    record: SessionRecord,
    now: float,
    last_client_call: float | None,
    outstanding: int = 0,
    attached_clients: int = 0,
    work_idle: float | None = None,
) -> float:
    """When to look again: the earliest time ``idle_verdict`` could change if nothing else happens, but no
    sooner than ``MIN_CHECK`` and no later than ``MAX_CHECK`` from ``now`` (clients and backlog change
    unannounced, and the tick also saves the last client call and compacts the journal)."""
    if not record.durable:
        due = client_gone_at(record, last_client_call)
    elif outstanding > 0:
        due = now + MAX_CHECK  # when the work runs out cannot be foreseen
    elif attached_clients > 0:
        due = client_gone_at(record, last_client_call)
    else:
        due = session_idle_at(record, last_client_call, work_idle) + record.session_idle_timeout
    return min(max(due, now + MIN_CHECK), now + MAX_CHECK)


def expires_at(record: SessionRecord) -> float:
    """When a closed session's remaining responses are dropped: ``closed_at + response_ttl`` for a durable
    session; an interactive one's live in the broker's memory, so its client gets ``client_idle_timeout`` (at
    most the TTL) to read what was answered before the close."""
    if record.closed_at is None:
        raise InvalidState(f"session {record.id} is {record.state}: only a closed session's responses expire")
    keep = record.response_ttl if record.durable else min(record.response_ttl, record.client_idle_timeout)
    return record.closed_at + keep
