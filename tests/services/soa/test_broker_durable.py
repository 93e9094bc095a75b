"""Durable sessions through the journal (an in-memory stand-in of its interface): written before the
broker answers on it, and enough to carry a session across a restart of the process."""

from __future__ import annotations

from soa_journal_standin import MemoryJournal
from soa_support import Clock, FakeAgent, echo, items, record, service, take

from hpcburst.services.soa.broker import Broker


def durable_broker(journal: MemoryJournal) -> Broker:
    broker = Broker(journal=journal, clock=Clock())
    broker.open(record("s1", durable=True), service())
    return broker


def test_requests_responses_and_acks_reach_the_journal_in_batches_before_they_are_answered():
    journal = MemoryJournal()
    broker = durable_broker(journal)
    agent = FakeAgent(broker, "n1")
    broker.submit("s1", "c1", items("a", "b"))
    broker.submit("s1", "c1", items("a"))  # a duplicate is not journaled again
    agent.lease(1)
    agent.poll(responses=[echo(r) for r in agent.poll().requests])
    take(broker, "s1", ack=["a", "b"])
    assert journal.writes == ["q:2", "r:2", "a:2"]


def test_an_interactive_session_writes_no_journal():
    journal = MemoryJournal()
    broker = Broker(journal=journal, clock=Clock())
    broker.open(record("s1"), service())
    broker.submit("s1", "c1", items("a"))
    assert journal.writes == []


def test_a_restarted_broker_reloads_pending_requests_unacked_responses_and_acked_keys():
    journal = MemoryJournal()
    before = durable_broker(journal)
    agent = FakeAgent(before, "n1")
    before.submit("s1", "c1", items("a", "b", "c"))
    agent.hosts["s1.1"] = 2  # wants two: "c" stays pending
    agent.lease(1)
    agent.hosts["s1.1"] = 2
    sent = agent.poll().requests
    agent.poll(responses=[echo(r) for r in sent])
    take(before, "s1", ack=[sent[0].id])

    after = Broker(journal=journal, clock=Clock())
    after.restore(record("s1", durable=True), service(), journal.load("s1"))
    assert [r.id for r in take(after, "s1").responses] == [sent[1].id]  # the unacked one, again
    assert after.submit("s1", "c1", items(sent[0].id)).duplicates == 1  # acked stays a duplicate
    again = FakeAgent(after, "n1")
    again.lease(1)
    assert [r.id for r in again.poll().requests] == ["c"]


def test_purge_deletes_the_journal_of_a_durable_session():
    journal = MemoryJournal()
    broker = durable_broker(journal)
    broker.submit("s1", "c1", items("a"))
    broker.close("s1", purge=True)
    assert journal.writes[-1] == "purge" and "s1" not in journal.requests
