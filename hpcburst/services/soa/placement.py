"""Which sessions get a node's free slots, and which idle hosts a session above its fair share gives back.

The rules are ``hpcburst.domain.soa.allocation``; this applies them to the broker's state (under its lock).
A pool's capacity is its nodes' slots, as their lease calls say (older agents: hosts plus free slots).
A session above its fair share drains hosts: a draining host gets no new requests and stops once its calls
are answered, so a newcomer's share frees up even while every host is busy.
"""

from __future__ import annotations

from hpcburst.domain.soa.allocation import fair_targets, place_order, wanted_units
from hpcburst.domain.soa.protocol import HostStart
from hpcburst.services.soa.state import BrokerState, Host, LiveSession

MIN_HOST_LIFE = 2.0  # seconds a new host is left alone before it may drain (no start/stop churn)


def targets(state: BrokerState, pool: str) -> dict[str, int]:
    return fair_targets([s.demand() for s in state.open_in(pool)], state.capacity(pool))


def place(
    state: BrokerState, node: str, pool: str, free_slots: int, now: float, slots: int | None = None
) -> list[HostStart]:
    seen = len(state.node_hosts[node]) + max(0, free_slots)
    state.node_capacity[node] = (pool, slots if slots is not None else seen)
    state.node_seen[node] = now
    live = state.open_in(pool)
    if not live or free_slots <= 0:
        return []
    demands = [s.demand() for s in live]
    order = place_order(demands, fair_targets(demands, state.capacity(pool)), free_slots)
    return [start_host(state, state.sessions[session], node, pool, now) for session in order]


def start_host(state: BrokerState, live: LiveSession, node: str, pool: str, now: float) -> HostStart:
    host_id = f"{live.id}.{live.next_host}"
    live.next_host += 1
    state.add_host(Host(host_id, live.id, node, pool, now))
    reg = live.registration
    environment = {
        **reg.environment,
        **live.record.environment,
        "CCP_SERVICENAME": reg.name,
        "HPC_SESSIONID": live.id,
    }
    return HostStart(
        host=host_id,
        session=live.id,
        service=reg.name,
        module=reg.module,
        package=reg.package,
        owner=live.record.owner,
        environment=environment,
        max_concurrent=reg.max_concurrent,
        operation_timeout=reg.operation_timeout,
        init_timeout=reg.init_timeout,
    )


def surplus_stops(state: BrokerState, node: str, pool: str, now: float) -> list[str]:
    """Hosts on ``node`` to stop now: draining ones with no call left. Sessions above their target drain their
    newest hosts beyond it (after ``MIN_HOST_LIFE``); one below its target takes draining hosts back first."""
    live = [s for s in state.open_in(pool) if any(state.hosts[h].node == node for h in s.hosts)]
    if not live:
        return []
    goals = targets(state, pool)
    stops: list[str] = []
    for session in live:
        active = sorted((h for h in session.hosts if not state.hosts[h].draining), key=_host_number)
        draining = sorted((h for h in session.hosts if state.hosts[h].draining), key=_host_number)
        extra = len(active) - goals.get(session.id, 0)
        for host_id in draining[: max(0, -extra)]:  # wanted again: keep serving
            state.hosts[host_id].draining = False
        for host_id in reversed(active):
            host = state.hosts[host_id]
            if extra <= 0:
                break
            if host.node == node and now - host.placed_at >= MIN_HOST_LIFE:
                host.draining = True
                extra -= 1
        stops += [h for h in session.hosts if state.hosts[h].node == node and state.hosts[h].draining
                  and not session.book.in_flight.get(h)]  # fmt: skip
    return stops


def _host_number(host_id: str) -> int:
    return int(host_id.rsplit(".", 1)[1])


def needs_hosts(live: LiveSession) -> bool:
    """More hosts would help the session now (so a waiting lease call should look)."""
    return live.open and wanted_units(live.demand()) > len(live.hosts)
