"""The synchronous steps of ``POST /api/agent/soa``, run under the broker's lock: take a node's responses,
reconcile its host list, retry or fault what died or timed out, hand out requests to hosts that want them.

A node only ever acts on hosts placed on it: a response or a host state naming another node's host is
ignored (and logged by the caller), never applied. Each step records what the caller must do once the
lock is released (wake waiting clients, persist a Faulted session) in ``Effects``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hpcburst.domain.soa.models import SessionState
from hpcburst.domain.soa.protocol import Fault, HostRequest, HostResponse, SoaPoll, StoredResponse
from hpcburst.services.soa.calls import Call, fault_response
from hpcburst.services.soa.state import INIT_FAILURES_LIMIT, BrokerState, Host, LiveSession

OPERATION_GRACE = 30.0  # beyond operation_timeout: the host's own timeout should have answered first
START_GRACE = 30.0  # beyond init_timeout: a placed host the agent never listed is gone
INIT_FAILURE = ("init failed", "init timeout")


@dataclass
class Effects:
    touched: set[str] = field(default_factory=set)  # sessions with new responses or a new state
    faulted: list[tuple[str, str]] = field(default_factory=list)  # (session, reason) Faulted just now
    foreign: list[str] = field(default_factory=list)  # host ids the node named but does not run
    requeued: bool = False  # requests went back to pending (other nodes' polls may take them)


def retry(live: LiveSession, calls: Iterable[Call], fault: Fault, effects: Effects) -> None:
    """Each call again, or as a fault once it has had ``resend_limit`` attempts."""
    limit = live.registration.resend_limit
    for call in calls:
        if call.done:
            continue
        if call.attempt >= limit:
            update = {"attempts": call.attempt, "node": call.node}
            live.book.store(fault_response(call, fault.model_copy(update=update)))
            effects.touched.add(live.id)
        else:
            live.book.requeue(call)
            effects.requeued = True


def apply_responses(state: BrokerState, node: str, responses: list[HostResponse], effects: Effects) -> int:
    accepted = 0
    mine = state.node_hosts.get(node, set())
    for r in responses:
        host = state.hosts.get(r.host) if r.host in mine else None
        live = state.sessions.get(host.session) if host is not None else None
        if live is None:
            effects.foreign.append(r.host)
            continue
        accepted += 1
        call = live.book.calls.get((r.client_id, r.id))
        if call is None:
            continue  # answered already: the first stored response wins
        if r.retry:
            if call.host == r.host and call.attempt == r.attempt:
                why = r.fault or Fault(
                    type="RetryOperation", message="the operation asked to retry", attempts=0
                )
                retry(live, [call], why, effects)
            continue
        if live.book.store(stored_response(r, call, node)):
            effects.touched.add(live.id)
    return accepted


def stored_response(r: HostResponse, call: Call, node: str) -> StoredResponse:
    """A host's answer as the session keeps it: with the request's user data, the fault's attempts and node."""
    fault = r.fault.model_copy(update={"attempts": call.attempt, "node": node}) if r.fault else None
    if not r.ok and fault is None:
        fault = Fault(type="Error", message="the host reported a failure", attempts=call.attempt, node=node)
    return StoredResponse(
        client_id=r.client_id, id=r.id, ok=r.ok, value=r.value, fault=fault, user_data=call.item.user_data
    )


def reconcile_hosts(
    state: BrokerState, node: str, body: SoaPoll, now: float, effects: Effects, fresh: bool = True
) -> list[str]:
    """End hosts the agent reports ended or no longer lists; the hosts it should stop (unknown, or of a
    session no longer open). ``fresh``: the call's first look; a long-poll woken later only looks for stops
    (its body's host states may be older than what a newer call said)."""
    mine = state.node_hosts.get(node, set())
    for ended in body.ended if fresh else ():
        if ended.host in mine:
            host_ended(state, state.hosts[ended.host], ended.reason, effects)
    listed = {h.host for h in body.hosts}
    stops: list[str] = []
    for shown in body.hosts:
        host = state.hosts.get(shown.host) if shown.host in mine else None
        live = state.sessions.get(host.session) if host is not None else None
        if host is None or live is None or not live.open:
            stops.append(shown.host)
            if host is not None:
                host_ended(state, host, "stopped: its session is no longer open", effects)
            continue
        if fresh:
            host.seen, host.ready, host.want = True, shown.ready, shown.want
    for host_id in [h for h in mine if h not in listed] if fresh else []:
        host = state.hosts[host_id]
        live = state.sessions.get(host.session)
        started = live.registration.init_timeout + START_GRACE if live else 0.0
        if host.seen or now - host.placed_at > started:
            host_ended(state, host, "vanished: its agent no longer lists it", effects)
    return stops


def host_ended(state: BrokerState, host: Host, reason: str, effects: Effects) -> None:
    state.remove_host(host.id)
    live = state.sessions.get(host.session)
    if live is None:
        return
    died = Fault(type="HostDied", message=f"host {host.id} on {host.node} ended: {reason}", attempts=0)
    retry(live, live.book.host_gone(host.id), died, effects)
    if reason.startswith(INIT_FAILURE) and live.open:
        live.init_failures += 1
        if live.init_failures >= INIT_FAILURES_LIMIT:
            fault_session(live, "ServiceInitFailed", reason, effects, node=host.node)


def fault_session(
    live: LiveSession, kind: str, reason: str, effects: Effects, node: str | None = None
) -> None:
    """End the session by the system: its requests (queued or in flight) answered with ``kind`` faults."""
    for host_id in list(live.book.in_flight):
        live.book.host_gone(host_id)
    live.book.drop_pending(Fault(type=kind, message=reason, attempts=0, node=node))
    live.state, live.reason = SessionState.FAULTED, reason
    effects.touched.add(live.id)
    effects.faulted.append((live.id, reason))


def dispatch(state: BrokerState, node: str, body: SoaPoll, now: float) -> list[HostRequest]:
    """Pending requests for the node's ready hosts that want them, in the order the agent listed them. What a
    host wants is the broker's own count (its agent's latest word, less what was handed since), not the call's
    body: a long-poll woken later must not hand out on the strength of states its agent has since updated."""
    out: list[HostRequest] = []
    mine = state.node_hosts.get(node, set())
    for shown in body.hosts:
        host = state.hosts.get(shown.host) if shown.host in mine else None
        if host is None or host.want <= 0 or not host.ready or host.draining:
            continue
        live = state.sessions.get(host.session)
        if live is None or not live.open or not live.book.pending:
            continue
        taken = live.book.take(shown.host, node, host.want, now)
        host.want -= len(taken)
        for call in taken:
            item = call.item
            out.append(
                HostRequest(
                    host=shown.host,
                    client_id=call.client_id,
                    id=item.id,
                    op=item.op,
                    payload=item.payload,
                    attempt=call.attempt,
                )
            )
    return out


def expire(state: BrokerState, now: float, node_timeout: float, effects: Effects) -> None:
    """Nodes silent for ``node_timeout`` lose their hosts; calls in flight past their operation timeout
    (plus a grace) are retried as OperationTimeout."""
    for node, seen in list(state.node_seen.items()):
        if now - seen > node_timeout:
            for host_id in list(state.node_hosts.get(node, ())):
                host_ended(state, state.hosts[host_id], f"node {node} stopped calling", effects)
            del state.node_seen[node]
            state.node_capacity.pop(node, None)
    for live in state.sessions.values():
        limit = live.registration.operation_timeout + OPERATION_GRACE
        late = [
            c for calls in live.book.in_flight.values() for c in calls.values() if now - c.sent_at > limit
        ]
        if late:
            message = f"no answer within {live.registration.operation_timeout:g}s"
            retry(live, late, Fault(type="OperationTimeout", message=message, attempts=0), effects)
