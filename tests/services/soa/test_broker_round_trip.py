"""The broker between one client and one node: requests go out to hosts that want them, responses come
back to the client once each, and keys are never run twice."""

from __future__ import annotations

import asyncio

import pytest
from soa_support import Clock, FakeAgent, echo, items, record, service, take

from hpcburst.domain.soa.models import SessionState
from hpcburst.domain.soa.protocol import GetResponses
from hpcburst.errors import InvalidState, NotFound
from hpcburst.services.soa.broker import Broker


@pytest.fixture
def broker() -> Broker:
    broker = Broker(clock=Clock())
    broker.open(record("s1"), service())
    return broker


def test_a_request_goes_to_a_host_and_its_response_to_the_client_once(broker):
    agent = FakeAgent(broker, "n1")
    assert broker.submit("s1", "c1", items("a", "b", "c")).accepted == 3
    assert agent.lease(free_slots=2)  # hosts for the backlog, within the node's free slots

    sent = agent.poll().requests
    assert sorted(r.id for r in sent) == ["a", "b", "c"]
    assert {r.attempt for r in sent} == {1}
    assert agent.poll(responses=[echo(r) for r in sent]).accepted == 3

    answer = take(broker, "s1", max=10)
    assert sorted((r.id, r.value, r.user_data) for r in answer.responses) == [
        ("a", {"args": ["a"]}, "ud-a"),
        ("b", {"args": ["b"]}, "ud-b"),
        ("c", {"args": ["c"]}, "ud-c"),
    ]
    assert (answer.outstanding, answer.state) == (0, "Active")
    assert take(broker, "s1").responses == []  # handed out once per attachment

    take(broker, "s1", ack=["a", "b", "c"])
    counts = broker.view_counts("s1")
    assert (counts.submitted, counts.answered, counts.acknowledged, counts.pending) == (3, 3, 3, 0)


def test_a_resent_key_is_a_duplicate_before_and_after_it_is_answered_and_acknowledged(broker):
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    again = broker.submit("s1", "c1", items("a", "b", "b"))
    assert (again.accepted, again.duplicates) == (1, 2)
    agent.lease(1)
    sent = agent.poll().requests
    agent.poll(responses=[echo(r) for r in sent])
    take(broker, "s1", ack=["a", "b"])

    assert broker.submit("s1", "c1", items("a", "b")).duplicates == 2
    assert broker.submit("s1", "c2", items("a")).accepted == 1  # another client's key


def test_restart_hands_out_every_unacknowledged_response_again(broker):
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a", "b"))
    agent.lease(1)
    agent.poll(responses=[echo(r) for r in agent.poll().requests])
    assert len(take(broker, "s1").responses) == 2
    take(broker, "s1", ack=["a"])

    again = take(broker, "s1", restart=True)
    assert [r.id for r in again.responses] == ["b"]


def test_the_first_stored_response_wins(broker):
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    agent.lease(1)
    (request,) = agent.poll().requests
    agent.poll(responses=[echo(request, value="first"), echo(request, value="second")])
    assert [r.value for r in take(broker, "s1").responses] == ["first"]


def test_a_closed_session_takes_no_requests_but_its_responses_stay_readable(broker):
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    (host,) = agent.lease(1)
    agent.poll(responses=[echo(r) for r in agent.poll().requests])
    broker.close("s1", purge=False, reason="done")

    with pytest.raises(InvalidState, match="Closed"):
        broker.submit("s1", "c1", items("b"))
    answer = take(broker, "s1", wait=5)  # answered at once: nothing more will come
    assert ([r.id for r in answer.responses], answer.state) == (["a"], "Closed")
    assert agent.poll().stop == [host]  # its hosts are told to stop


def test_close_with_purge_drops_the_stored_responses(broker):
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a"))
    agent.lease(1)
    agent.poll(responses=[echo(r) for r in agent.poll().requests])
    broker.close("s1", purge=True)
    assert take(broker, "s1").responses == []


def test_a_session_the_broker_does_not_hold_is_not_found(broker):
    with pytest.raises(NotFound):
        broker.submit("nope", "c1", items("a"))


def test_a_waiting_client_is_woken_by_a_response():
    async def scenario() -> list[str]:
        broker = Broker(clock=Clock())
        broker.open(record("s1"), service())
        agent = FakeAgent(broker, "n1")
        broker.submit("s1", "c1", items("a"))
        agent.lease(1)
        sent = (await agent.poll_async()).requests
        waiting = asyncio.create_task(broker.responses("s1", GetResponses(client_id="c1", wait=30)))
        await asyncio.sleep(0)
        await agent.poll_async(responses=[echo(r) for r in sent])
        return [r.id for r in (await waiting).responses]

    assert asyncio.run(scenario()) == ["a"]


def test_a_waiting_agent_is_woken_by_a_submit():
    async def scenario() -> list[str]:
        broker = Broker(clock=Clock())
        broker.open(record("s1"), service())
        agent = FakeAgent(broker, "n1")
        agent.lease(1)
        polling = asyncio.create_task(agent.poll_async(wait=30))
        await asyncio.sleep(0)
        broker.submit("s1", "c1", items("a"))
        return [r.id for r in (await polling).requests]

    assert asyncio.run(scenario()) == ["a"]


def test_a_new_session_wakes_the_lease_long_poll():
    woken: list[bool] = []
    broker = Broker(wake_hosts=lambda: woken.append(True), clock=Clock())
    broker.open(record("s1"), service())
    assert woken and broker.state_of("s1") == SessionState.ACTIVE
