"""What the controller sees before deciding: registrations bring nodes Online, the cloud's failures make them
Failed, and a node that vanished after registering is lost at once (an eviction when it was spot)."""

from __future__ import annotations

from hpcburst.domain.burst.ledger import Ledger
from hpcburst.domain.burst.models import CloudNode, NodeState
from hpcburst.domain.burst.observe import LOST_AFTER, Registered, observe
from hpcburst.domain.burst.record import BurstRecord

T = 1_000_000.0


def node(name: str = "c-1", state: NodeState = NodeState.PROVISIONING, **extra) -> CloudNode:
    return CloudNode(name=name, pool="cloud", state=state, created_at=T, slots=2, **extra)


def record(*nodes: CloudNode) -> BurstRecord:
    ledger = Ledger()
    for n in nodes:
        ledger = ledger.reserve(n.name, n.pool, 1.0, 60, T)
    return BurstRecord(nodes=list(nodes), ledger=ledger)


def registered(
    name: str = "c-1", state: str = "Online", running: int = 0, heartbeat: float = T + 10
) -> Registered:
    return Registered(name=name, state=state, running=running, registered_at=T + 5, last_heartbeat=heartbeat)


def test_a_node_that_registered_is_online_and_knows_when():
    seen = observe(record(node()), {"c-1": registered()}, {"cloud": {"c-1": "Running"}}, T + 10)
    (n,) = seen.nodes
    assert (n.state, n.registered_at) == (NodeState.ONLINE, T + 5)


def test_an_admin_taking_a_node_offline_shows_and_a_draining_node_stays_draining():
    offline = observe(record(node(state=NodeState.ONLINE)), {"c-1": registered(state="Offline")}, {}, T + 10)
    assert offline.nodes[0].state == NodeState.OFFLINE
    draining = observe(
        record(node(state=NodeState.DRAINING)), {"c-1": registered(state="Offline")}, {}, T + 10
    )
    assert draining.nodes[0].state == NodeState.DRAINING


def test_running_work_moves_the_idle_clock():
    busy = observe(record(node(state=NodeState.ONLINE)), {"c-1": registered(running=1)}, {}, T + 50)
    assert busy.nodes[0].last_busy_at == T + 50
    idle = observe(busy, {"c-1": registered(running=0)}, {}, T + 80)
    assert idle.nodes[0].last_busy_at == T + 50


def test_a_node_the_cloud_failed_before_it_registered_is_failed_for_the_policy_to_delete():
    seen = observe(record(node()), {}, {"cloud": {"c-1": "Failed"}}, T + 10)
    assert seen.nodes[0].state == NodeState.FAILED and seen.deleting == {}


def test_a_node_still_booting_and_not_yet_listed_is_left_alone():
    pending = record(node()).model_copy(update={"creating": {"c-1": "cloud"}})
    assert observe(pending, {}, {"cloud": {}}, T + 1).nodes[0].state == NodeState.PROVISIONING


def test_a_spot_node_that_vanished_after_registering_is_an_eviction_released_at_once():
    seen = observe(record(node(state=NodeState.ONLINE, registered_at=T + 5, spot=True)), {"c-1": registered()},
                   {"cloud": {}}, T + 100)  # fmt: skip
    assert seen.nodes == [] and seen.deleting == {"c-1": "cloud"}
    assert seen.evictions == {"cloud": [T + 100]}
    assert [(s.name, s.cause, s.slots) for s in seen.stopped] == [("c-1", "evicted", 2)]
    assert seen.ledger.reservations[0].released_at == T + 100


def test_a_registered_node_silent_for_long_is_lost_but_not_sooner():
    silent = registered(state="Unreachable", heartbeat=T + 10)
    online = record(node(state=NodeState.ONLINE, registered_at=T + 5))
    assert observe(online, {"c-1": silent}, {}, T + 10 + LOST_AFTER - 1).nodes != []
    lost = observe(online, {"c-1": silent}, {}, T + 10 + LOST_AFTER)
    assert lost.nodes == [] and lost.stopped[0].cause == "lost" and lost.evictions == {}
