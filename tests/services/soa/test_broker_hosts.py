"""Hosts as the broker sees them: placed by the lease call, fairly shared between sessions, retried when
they die, vanish, go silent or time out, stopped when unknown, surplus or of an ended session."""

from __future__ import annotations

import asyncio

import pytest
from soa_support import POOL, Clock, FakeAgent, echo, items, record, service, take

from hpcburst.domain.soa.models import SessionState
from hpcburst.domain.soa.protocol import HostResponse, HostState, SoaPoll
from hpcburst.services.soa.broker import Broker
from hpcburst.services.soa.placement import MIN_HOST_LIFE


@pytest.fixture
def clock() -> Clock:
    return Clock()


def one_session(clock: Clock, **changes) -> Broker:
    broker = Broker(clock=clock, node_timeout=10.0)
    broker.open(record("s1"), service(**changes))
    return broker


def test_a_placed_host_carries_the_service_and_session_in_its_environment(clock):
    broker = Broker(clock=clock)
    broker.open(record("s1", environment={"MINE": "1"}), service(environment={"SVC": "x"}, max_concurrent=2))
    (start,) = broker.place_hosts("n1", "default", 1)
    assert (start.host, start.session, start.module, start.owner, start.max_concurrent) == (
        "s1.1", "s1", "echo_service", "alice", 2
    )  # fmt: skip
    assert start.environment == {"SVC": "x", "MINE": "1", "CCP_SERVICENAME": "echo", "HPC_SESSIONID": "s1"}


def test_a_retried_request_becomes_a_fault_with_its_attempts_and_node_at_the_resend_limit(clock):
    broker = one_session(clock, resend_limit=2)
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    agent.lease(1)
    (request,) = agent.poll().requests
    (again,) = agent.poll(responses=[echo(request, ok=False, retry=True)]).requests  # the next attempt
    assert (request.attempt, again.attempt) == (1, 2)
    assert agent.poll(responses=[echo(again, ok=False, retry=True)]).requests == []
    (response,) = take(broker, "s1").responses
    assert not response.ok and response.fault is not None
    assert (response.fault.type, response.fault.attempts, response.fault.node) == ("RetryOperation", 2, "n1")


def test_a_host_that_died_has_its_requests_run_again(clock):
    broker = one_session(clock)
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    (host,) = agent.lease(1)
    agent.poll()
    agent.end(host, "died: exit -9")
    (again,) = agent.lease(1)
    (request,) = agent.poll().requests
    assert (request.host, request.attempt) == (again, 2)


def test_a_host_its_agent_no_longer_lists_is_gone_and_its_requests_retried(clock):
    broker = one_session(clock)
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    (host,) = agent.lease(1)
    agent.poll()
    agent.poll(listed=[])
    assert broker.view_counts("s1").pending == 1
    (again,) = agent.lease(1)
    assert [r.attempt for r in agent.poll().requests] == [2]


def test_host_died_past_the_limit_is_a_host_died_fault(clock):
    broker = one_session(clock, resend_limit=1)
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    (host,) = agent.lease(1)
    agent.poll()
    agent.end(host, "died: exit -9")
    (response,) = take(broker, "s1").responses
    assert response.fault is not None and (response.fault.type, response.fault.attempts) == ("HostDied", 1)


def test_a_node_that_stops_polling_loses_its_hosts(clock):
    broker = one_session(clock)
    quiet, other = FakeAgent(broker, "n1"), FakeAgent(broker, "n2")
    broker.submit("s1", "c1", items("a"))
    quiet.lease(1)
    quiet.poll()
    clock.advance(30)
    other.lease(1)
    (request,) = other.poll().requests
    assert (request.attempt, request.host.startswith("s1.")) == (2, True)


def test_a_request_in_flight_past_its_operation_timeout_is_retried(clock):
    broker = one_session(clock, operation_timeout=5.0, resend_limit=1)
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    agent.lease(1)
    agent.poll()
    clock.advance(60)
    agent.poll()
    (response,) = take(broker, "s1").responses
    assert response.fault is not None and response.fault.type == "OperationTimeout"


def test_a_late_answer_of_a_retried_request_is_not_stored_twice(clock):
    broker = one_session(clock)
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    agent.lease(1)
    (first,) = agent.poll().requests
    (second,) = agent.poll(responses=[echo(first, ok=False, retry=True)]).requests
    agent.poll(responses=[echo(second, value="second"), echo(first, value="late")])
    assert [r.value for r in take(broker, "s1").responses] == ["second"]


def test_hosts_that_fail_to_start_three_times_fault_the_session(clock):
    faulted: list[tuple[str, str]] = []
    broker = Broker(clock=clock, on_fault=lambda s, why: faulted.append((s, why)))
    broker.open(record("s1"), service())
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a", "b"))
    for _ in range(3):
        (host,) = agent.lease(1)
        agent.end(host, "init failed: No module named 'echo_service'")
    assert broker.state_of("s1") == SessionState.FAULTED
    assert faulted == [("s1", "init failed: No module named 'echo_service'")]
    answer = take(broker, "s1", max=10)
    assert {r.fault.type for r in answer.responses if r.fault} == {"ServiceInitFailed"}
    assert answer.state == "Faulted"
    assert agent.lease(1) == []  # never restarted forever


def test_an_unknown_host_is_told_to_stop(clock):
    broker = one_session(clock)
    agent = FakeAgent(broker, "n1")
    assert agent.poll(listed=["s9.1"]).stop == ["s9.1"]


def test_a_node_cannot_answer_or_take_requests_for_another_nodes_host(clock):
    broker = one_session(clock)
    owner, thief = FakeAgent(broker, "n1"), FakeAgent(broker, "n2")
    broker.submit("s1", "c1", items("a", "b"))
    (host,) = owner.lease(1)
    (request, _) = owner.poll().requests
    forged = HostResponse(host=host, client_id="c1", id=request.id, attempt=1, ok=True, value="forged")
    thief.hosts[host] = 4
    answer = thief.poll(responses=[forged])
    assert (answer.accepted, answer.requests) == (0, [])
    assert take(broker, "s1").responses == []
    owner.poll()  # the real host still holds its requests (the thief's listing changed nothing)
    assert broker.view_counts("s1").in_flight == 2


def test_two_sessions_share_a_node_fairly(clock):
    broker = Broker(clock=clock)
    broker.open(record("s1", created_at=1.0), service())
    broker.open(record("s2", created_at=2.0), service())
    broker.submit("s1", "c1", items(*[f"a{i}" for i in range(100)]))
    broker.submit("s2", "c1", items(*[f"b{i}" for i in range(100)]))
    started = FakeAgent(broker, "n1").lease(4)
    assert sorted(h.split(".")[0] for h in started) == ["s1", "s1", "s2", "s2"]


def test_a_session_above_its_fair_share_gives_back_idle_hosts(clock):
    broker = Broker(clock=clock)
    broker.open(record("s1", created_at=1.0), service())
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items(*[f"a{i}" for i in range(8)]))
    assert len(agent.lease(4)) == 4
    agent.poll(responses=[echo(r) for r in agent.poll().requests])  # s1 done: its hosts idle

    broker.open(record("s2", created_at=2.0), service())
    broker.submit("s2", "c1", items(*[f"b{i}" for i in range(100)]))
    assert agent.lease(0) == []  # the node is full
    assert agent.poll().stop == []  # new hosts are left alone for a while (no start/stop churn)
    clock.advance(MIN_HOST_LIFE + 1)
    stops = agent.poll().stop
    assert len(stops) == 3 and {h.split(".")[0] for h in stops} == {"s1"}  # s1 keeps its min_units
    assert sorted(h.split(".")[0] for h in agent.lease(3)) == ["s2", "s2", "s2"]


def test_busy_hosts_above_the_fair_share_drain_then_stop(clock):
    broker = Broker(clock=clock)
    broker.open(record("s1", created_at=1.0), service())
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items(*[f"a{i}" for i in range(100)]))
    assert len(agent.lease(4)) == 4
    running = agent.poll().requests  # every s1 host busy, with more queued behind them
    broker.open(record("s2", created_at=2.0), service())
    broker.submit("s2", "c1", items(*[f"b{i}" for i in range(100)]))
    clock.advance(MIN_HOST_LIFE + 1)

    draining = agent.poll()  # two s1 hosts drain: no new requests, not stopped while their calls run
    assert draining.stop == [] and {r.host for r in draining.requests} <= {r.host for r in running}
    answered = agent.poll(responses=[echo(r) for r in running])
    assert len(answered.stop) == 2 and {h.split(".")[0] for h in answered.stop} == {"s1"}
    assert {r.host for r in answered.requests}.isdisjoint(answered.stop)
    assert sorted(h.split(".")[0] for h in agent.lease(2)) == ["s2", "s2"]


def test_a_long_poll_woken_later_does_not_undo_what_a_newer_call_said_about_its_hosts(clock):
    broker = Broker(clock=clock)
    broker.open(record("s1"), service())
    (host,) = FakeAgent(broker, "n1").lease(1)

    def body(ready: bool, wait: float) -> SoaPoll:
        return SoaPoll(node="n1", pool=POOL, hosts=[HostState(host=host, ready=ready, want=4 if ready else 0)],
                       wait=wait)  # fmt: skip

    async def scenario() -> list[str]:
        starting = asyncio.create_task(broker.poll("n1", POOL, body(ready=False, wait=5)))  # host importing
        await asyncio.sleep(0.05)
        await broker.poll(
            "n1", POOL, body(ready=True, wait=0)
        )  # the host is ready: the agent says so at once
        broker.submit("s1", "c1", items("a"))  # wakes the older long-poll, whose body still says "not ready"
        answer = await asyncio.wait_for(starting, 2)
        return [r.id for r in answer.requests]

    assert asyncio.run(scenario()) == ["a"]


def test_a_waiting_long_poll_hears_at_once_that_a_closed_sessions_hosts_stop(clock):
    broker = Broker(clock=clock)
    broker.open(record("s1"), service())
    agent = FakeAgent(broker, "n1")
    (host,) = agent.lease(1)

    async def scenario() -> list[str]:
        waiting = asyncio.create_task(agent.poll_async(wait=5))
        await asyncio.sleep(0.05)
        broker.close("s1", purge=False)
        return (await asyncio.wait_for(waiting, 2)).stop

    assert asyncio.run(scenario()) == [host]
