"""Which sessions get a node's free slots, and which idle hosts a session above its fair share gives back.

The rules are ``hpcburst.domain.soa.allocation``; this applies them to the broker's state (under its lock).
A pool's capacity is what its nodes last reported to the lease call: their hosts plus their free slots.
"""

from __future__ import annotations

from hpcburst.domain.soa.allocation import fair_targets, place_order, surplus, wanted_units
from hpcburst.domain.soa.protocol import HostStart
from hpcburst.services.soa.state import BrokerState, Host, LiveSession

MIN_HOST_LIFE = 10.0  # seconds a new host is left alone before it counts as surplus (no start/stop churn)


def targets(state: BrokerState, pool: str) -> dict[str, int]:
    return fair_targets([s.demand() for s in state.open_in(pool)], state.capacity(pool))


def place(state: BrokerState, node: str, pool: str, free_slots: int, now: float) -> list[HostStart]:
    state.node_capacity[node] = (pool, len(state.node_hosts[node]) + max(0, free_slots))
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
    """Idle hosts on ``node`` of sessions above their target (oldest sessions' spare hosts go first)."""
    live = [s for s in state.open_in(pool) if any(state.hosts[h].node == node for h in s.hosts)]
    if not live:
        return []
    goals = targets(state, pool)
    stops: list[str] = []
    for session in live:
        extra = surplus(session.demand(), goals.get(session.id, 0))
        for host_id in sorted(h for h in session.hosts if state.hosts[h].node == node):
            if extra <= 0:
                break
            host = state.hosts[host_id]
            if session.book.in_flight.get(host_id) or now - host.placed_at < MIN_HOST_LIFE:
                continue
            stops.append(host_id)
            extra -= 1
    return stops


def needs_hosts(live: LiveSession) -> bool:
    """More hosts would help the session now (so a waiting lease call should look)."""
    return live.open and wanted_units(live.demand()) > len(live.hosts)
