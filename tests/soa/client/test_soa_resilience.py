"""Failed calls are retried without doubling work; an ended session or a refused caller fails the futures."""

from __future__ import annotations

import gc
import time
import tracemalloc

import pytest
from broker_fake import OUTSIDER_TOKEN, FakeBroker

from hpcburst import soa
from hpcburst.domain.soa.models import SessionState
from hpcburst.errors import Forbidden, InvalidState
from hpcburst.soa.client import Client
from hpcburst.soa.executor import SessionExecutor
from hpcburst.soa.session import Session


def test_a_request_batch_whose_answer_was_lost_is_resent_and_not_run_twice(
    session: Session, broker: FakeBroker
) -> None:
    broker.fail_next_posts("/requests", 2, lose_answer=True)
    with session.executor(linger=0.05) as ex:
        futures = [ex.submit("echo", i) for i in range(10)]
    assert [f.result() for f in futures] == list(range(10))
    assert len(broker.sessions[session.id].requests) == 10  # the resends were duplicates, not new work


def test_a_failed_poll_is_retried_with_the_same_acknowledgements(
    session: Session, broker: FakeBroker
) -> None:
    with session.executor() as ex:
        assert ex.submit("echo", 1).result() == 1
        broker.fail_next_posts("/responses", 2)
        assert ex.submit("echo", 2).result() == 2
    assert broker.sessions[session.id].responses == {}  # every response acknowledged in the end


def test_a_session_that_ends_fails_the_futures_still_waiting(session: Session, broker: FakeBroker) -> None:
    ex = session.executor()
    future = ex.submit("hold", 1)
    _until(lambda: ex._flight.in_broker() == 1)
    broker.end(session.id, SessionState.FAULTED)
    with pytest.raises(InvalidState, match="Faulted"):
        future.result(timeout=30)
    with pytest.raises(InvalidState):
        ex.submit("echo", 2)  # the executor is broken: it says why
    ex.shutdown()


def test_an_outsider_can_neither_see_nor_feed_someone_elses_session(
    session: Session, broker: FakeBroker
) -> None:
    with soa.connect("http://broker.test", OUTSIDER_TOKEN, transport=broker.transport) as outsider:
        with pytest.raises(Forbidden):
            outsider.session(session.id)
        stranger = Session(outsider, session.view)
        with pytest.raises(Forbidden):
            stranger.status()
        with stranger.executor() as ex:
            future = ex.submit("echo", 1)
            with pytest.raises(Forbidden):
                future.result(timeout=30)
        with pytest.raises(Forbidden):
            list(stranger.responses("c1"))
    assert broker.sessions[session.id].requests == {}


def test_a_request_in_flight_costs_under_400_bytes_of_client_memory(
    session: Session, broker: FakeBroker
) -> None:
    n = 10_000
    gc.collect()
    tracemalloc.start()
    try:
        before = _client_bytes()
        ex = session.executor(batch_size=1000)
        futures = [ex.submit("hold", i) for i in range(n)]
        _until(lambda: ex._flight.in_broker() == n)  # every batch accepted: payloads dropped
        gc.collect()
        per_request = (_client_bytes() - before) / n
    finally:
        tracemalloc.stop()
    assert per_request <= 400, f"{per_request:.0f} bytes per request in flight"
    broker.release(session.id)
    ex.shutdown()
    assert futures[-1].result() == n - 1


def _client_bytes() -> int:
    """What the SDK's own code holds (the fake broker's copies of the requests are not the client's)."""
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/hpcburst/soa/*")])
    return sum(stat.size for stat in snapshot.statistics("filename"))


def _until(condition: object, limit: float = 30.0) -> None:
    """Wait for another thread to reach a state (a bound against hanging, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.001)


def test_an_executor_is_a_concurrent_futures_executor(client: Client, session: Session) -> None:
    import concurrent.futures as cf

    with session.executor() as ex:
        assert isinstance(ex, cf.Executor) and isinstance(ex, SessionExecutor)
        assert isinstance(ex.submit("echo", 1), cf.Future)


def test_responses_handed_out_in_an_answer_that_was_lost_come_again(
    session: Session, broker: FakeBroker
) -> None:
    with session.executor(linger=0.05) as ex:
        broker.fail_next_posts("/responses", 1, lose_answer=True)  # handed out, then the answer is lost
        futures = [ex.submit("echo", i) for i in range(5)]
        assert [f.result(timeout=30) for f in futures] == list(range(5))
    assert broker.polls[1]["restart"] is True  # the retry asked for everything not acknowledged again


def test_responses_lost_on_the_way_to_an_attached_reader_come_again(client: Client, durable: Session,
                                                                    broker: FakeBroker) -> None:  # fmt: skip
    client.channel.call("POST", f"{durable.path}/requests",
                        json={"client_id": "c", "requests": [{"id": "x", "op": "echo", "payload": {"args": [7]}}]})  # fmt: skip
    broker.fail_next_posts("/responses", 1, lose_answer=True)
    assert [r.value for r in durable.responses("c")] == [7]
