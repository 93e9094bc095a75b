"""The WorkQueue contract, run against every adapter on a real server (Azurite).

Leases are real visibility timeouts of one second, so redelivery is observed, not simulated.
"""

from __future__ import annotations

import time

import pytest

from hpcburst import constants as c
from hpcburst.errors import LeaseExpired
from hpcburst.storage.blob.port import BlobStore
from hpcburst.storage.queue import claim_check, watcher
from hpcburst.storage.queue.port import Message, WorkQueue


def receive_one(
    queue: WorkQueue, name: str, visibility_timeout: float = 1.0, within: float = 10.0
) -> Message:
    """The next message delivered on ``name``, polling until it becomes visible."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = queue.receive(name, max_messages=1, visibility_timeout=visibility_timeout)
        if got:
            return got[0]
        time.sleep(0.1)
    raise AssertionError(f"no message on {name} within {within}s")


def test_a_sent_message_is_received_once_and_deleted(work_queue: WorkQueue, queue_name: str) -> None:
    sent_id = work_queue.send(queue_name, '{"job": "j1", "indices": [0, 1, 2]}')
    message = receive_one(work_queue, queue_name, visibility_timeout=30)
    assert (message.id, message.body, message.dequeue_count) == (
        sent_id,
        '{"job": "j1", "indices": [0, 1, 2]}',
        1,
    )
    assert message.claim is None
    assert work_queue.receive(queue_name) == []  # hidden while leased
    work_queue.delete(message)
    assert work_queue.depth(queue_name) == 0


def test_receive_returns_up_to_max_messages(work_queue: WorkQueue, queue_name: str) -> None:
    for i in range(5):
        work_queue.send(queue_name, f"m{i}")
    assert work_queue.depth(queue_name) == 5
    first = work_queue.receive(queue_name, max_messages=3, visibility_timeout=30)
    rest = work_queue.receive(queue_name, max_messages=32, visibility_timeout=30)
    assert len(first) == 3 and len(rest) == 2
    assert sorted(m.body for m in first + rest) == [f"m{i}" for i in range(5)]


def test_a_message_whose_lease_expires_is_delivered_again(work_queue: WorkQueue, queue_name: str) -> None:
    work_queue.send(queue_name, "work")
    first = receive_one(work_queue, queue_name, visibility_timeout=1)
    again = receive_one(work_queue, queue_name, visibility_timeout=30)
    assert again.id == first.id and again.body == "work"
    assert again.dequeue_count == first.dequeue_count + 1
    with pytest.raises(LeaseExpired):
        work_queue.delete(first)  # the first receiver lost its lease to the second
    work_queue.delete(again)


def test_renewing_a_lease_keeps_the_message_hidden(work_queue: WorkQueue, queue_name: str) -> None:
    work_queue.send(queue_name, "long task")
    leased = receive_one(work_queue, queue_name, visibility_timeout=1)
    renewed = work_queue.renew(leased, visibility_timeout=30)
    assert renewed.receipt != leased.receipt and renewed.body == "long task"
    time.sleep(1.5)  # past the first lease
    assert work_queue.receive(queue_name, visibility_timeout=30) == []
    with pytest.raises(LeaseExpired):
        work_queue.renew(leased, visibility_timeout=30)  # the old receipt is stale
    with pytest.raises(LeaseExpired):
        work_queue.delete(leased)
    work_queue.delete(renewed)
    assert work_queue.depth(queue_name) == 0


def test_renew_to_zero_releases_the_message_at_once(work_queue: WorkQueue, queue_name: str) -> None:
    work_queue.send(queue_name, "retry me")
    leased = receive_one(work_queue, queue_name, visibility_timeout=30)
    work_queue.renew(leased, visibility_timeout=0)
    again = receive_one(work_queue, queue_name, visibility_timeout=30, within=3)
    assert again.id == leased.id and again.dequeue_count == 2


def test_a_message_over_max_dequeues_goes_to_the_poison_queue(work_queue: WorkQueue, queue_name: str) -> None:
    max_dequeue_count = 3
    work_queue.send(queue_name, "always fails")
    while True:
        message = receive_one(work_queue, queue_name, visibility_timeout=30)
        if message.dequeue_count >= max_dequeue_count:
            work_queue.dead_letter(message)
            break
        work_queue.renew(message, visibility_timeout=0)  # the handler failed: release for a retry
    assert message.dequeue_count == max_dequeue_count
    poison = receive_one(work_queue, queue_name + c.POISON_SUFFIX, visibility_timeout=30)
    assert poison.body == "always fails" and poison.dequeue_count == 1
    assert work_queue.depth(queue_name) == 0


def test_a_delayed_message_is_invisible_until_its_delay_passes(
    work_queue: WorkQueue, queue_name: str
) -> None:
    work_queue.send(queue_name, "later", delay=1)
    assert work_queue.receive(queue_name) == []
    assert receive_one(work_queue, queue_name).body == "later"


def test_a_large_message_travels_by_claim_check(
    work_queue: WorkQueue, queue_name: str, blob_store: BlobStore
) -> None:
    payload = '{"indices": [' + ",".join(str(i) for i in range(40_000)) + "]}"
    assert len(payload) > c.QUEUE_INLINE_LIMIT
    work_queue.send(queue_name, payload)
    message = receive_one(work_queue, queue_name, visibility_timeout=30)
    assert message.body == payload
    assert message.claim is not None and len(message.claim) < 1024
    container, blob = claim_check.reference(message.claim) or ("", "")
    assert blob_store.get(container, blob) == payload.encode()
    work_queue.delete(message)
    assert list(blob_store.list(container, prefix=blob)) == []


def test_a_raw_claim_resolves_to_the_payload(
    work_queue: WorkQueue, queue_name: str, blob_store: BlobStore
) -> None:
    payload = "é" * (c.QUEUE_INLINE_LIMIT // 2 + 1)  # few characters, but over the limit in bytes
    work_queue.send(queue_name, payload)
    work_queue.send(queue_name, "small")
    raw = work_queue.receive(queue_name, visibility_timeout=30, resolve_claims=False)
    bodies = {m.body for m in raw}
    assert "small" in bodies
    claim = next(b for b in bodies if claim_check.is_claim(b))
    assert claim_check.resolve(claim, blob_store) == payload
    assert claim_check.resolve("small", blob_store) == "small"


def test_a_poisoned_large_message_keeps_its_payload(work_queue: WorkQueue, queue_name: str) -> None:
    payload = "x" * (c.QUEUE_INLINE_LIMIT + 1)
    work_queue.send(queue_name, payload)
    work_queue.dead_letter(receive_one(work_queue, queue_name, visibility_timeout=30))
    assert receive_one(work_queue, queue_name + c.POISON_SUFFIX, visibility_timeout=30).body == payload


def test_small_bodies_are_not_wrapped(blob_store: BlobStore) -> None:
    body = "y" * c.QUEUE_INLINE_LIMIT
    assert claim_check.wrap(body, blob_store, "q") is body


def test_each_send_notifies_the_in_process_watcher(work_queue: WorkQueue, queue_name: str) -> None:
    heard: list[str] = []
    unsubscribe = watcher.subscribe(queue_name, heard.append)
    try:
        work_queue.send(queue_name, "ping")
    finally:
        unsubscribe()
    work_queue.send(queue_name, "after unsubscribe")
    assert heard == [queue_name]


def test_sending_to_a_new_queue_creates_it(work_queue: WorkQueue) -> None:
    name = f"fresh-{time.time_ns()}"
    assert work_queue.receive(name) == []
    assert work_queue.depth(name) == 0
    work_queue.send(name, "first")
    assert receive_one(work_queue, name).body == "first"
