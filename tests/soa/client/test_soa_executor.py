"""The executor: calls go out in batches, futures come back with values, user data and faults."""

from __future__ import annotations

import concurrent.futures as cf

import pytest
from broker_fake import FakeBroker

from hpcburst import soa
from hpcburst.errors import Conflict, InvalidSpec
from hpcburst.soa.futures import SoaFuture
from hpcburst.soa.session import Session
from hpcburst.soa.streams import Flight, ResponseReceiver


def test_each_future_gets_its_value_and_user_data(session: Session) -> None:
    with session.executor(client_id="run7") as ex:
        futures = [ex.submit("echo", x, user_data=i) for i, x in enumerate("abcdef")]
        got = {(f.result(), f.user_data) for f in soa.as_completed(futures)}
    assert got == {(x, i) for i, x in enumerate("abcdef")}


def test_a_faulted_request_raises_soa_fault_with_where_and_how_often(session: Session) -> None:
    with session.executor() as ex:
        future = ex.submit("fail", 42)
        with pytest.raises(soa.SoaFault) as caught:
            future.result()
    fault = caught.value
    assert (fault.type, fault.attempts, fault.node) == ("ValueError", 3, "n1")
    assert "bad 42" in str(fault) and fault.traceback == "Traceback ..."
    assert isinstance(future.exception(), soa.SoaFault)


def test_requests_travel_in_batches_of_at_most_batch_size(session: Session, broker: FakeBroker) -> None:
    with session.executor(batch_size=10, linger=0.05) as ex:
        futures = [ex.submit("echo", i) for i in range(95)]
    assert [f.result() for f in futures] == list(range(95))
    assert max(broker.request_batches) <= 10 and sum(broker.request_batches) == 95
    assert len(broker.request_batches) < 95  # lingering gathered them, not one call per request


def test_keyword_arguments_and_pickled_values_round_trip(session: Session) -> None:
    with session.executor(codec="pickle") as ex:
        assert ex.submit("echo", {1, 2}, flag=True).result() == {1, 2}  # a set: JSON could not carry it


def test_a_value_json_cannot_carry_fails_that_future_alone_naming_the_fix(session: Session) -> None:
    with session.executor(linger=0.05) as ex:
        bad, good = ex.submit("echo", {1, 2}), ex.submit("echo", 1)
        with pytest.raises(TypeError, match="codec='pickle'"):
            bad.result()
        assert good.result() == 1


def test_map_keeps_input_order_or_yields_as_they_come(session: Session) -> None:
    with session.executor() as ex:
        assert list(ex.map("echo", range(50))) == list(range(50))
        assert sorted(ex.map("echo", range(50), ordered=False)) == list(range(50))


def test_map_raises_the_fault_of_a_failed_call(session: Session) -> None:
    with session.executor() as ex, pytest.raises(soa.SoaFault):
        list(ex.map("fail", [1]))


def test_wait_sees_every_future_done(session: Session) -> None:
    with session.executor() as ex:
        futures = [ex.submit("echo", i) for i in range(20)]
        done, not_done = cf.wait(futures, timeout=30)
    assert len(done) == 20 and not not_done


def test_result_with_a_timeout_raises_timeout_error_while_unanswered(
    session: Session, broker: FakeBroker
) -> None:
    ex = session.executor()
    future = ex.submit("hold", 1)
    with pytest.raises(TimeoutError):
        future.result(timeout=0.01)
    broker.release(session.id)
    assert future.result() == 1
    ex.shutdown()


def test_done_callbacks_run_once_each_in_order(session: Session) -> None:
    seen: list[tuple[str, int]] = []
    with session.executor() as ex:
        future = ex.submit("echo", 5)
        future.add_done_callback(lambda f: seen.append(("a", f.result())))
        future.add_done_callback(lambda f: seen.append(("b", f.result())))
    future.add_done_callback(lambda f: seen.append(("late", f.result())))  # done already: runs now
    assert seen == [("a", 5), ("b", 5), ("late", 5)]


def test_shutdown_waits_for_every_response(session: Session, broker: FakeBroker) -> None:
    ex = session.executor()
    futures = [ex.submit("echo", i) for i in range(300)]
    ex.shutdown(wait=True)
    assert all(f.done() for f in futures) and ex.outstanding == 0
    with pytest.raises(RuntimeError, match="shut down"):
        ex.submit("echo", 1)


def test_cancel_futures_stops_waiting_and_drops_late_responses(session: Session, broker: FakeBroker) -> None:
    ex = session.executor()
    held = [ex.submit("hold", i) for i in range(5)]
    ex.shutdown(wait=True, cancel_futures=True)
    assert all(f.cancelled() for f in held)
    done, _ = cf.wait(held, timeout=0)  # cancelled futures count as done for wait and as_completed
    assert len(done) == 5


def test_cancelling_one_future_completes_it_for_as_completed(session: Session, broker: FakeBroker) -> None:
    with session.executor() as ex:
        held, echoed = ex.submit("hold", 1), ex.submit("echo", 2)
        assert held.cancel() and held.cancelled()
        assert set(soa.as_completed([held, echoed], timeout=30)) == {held, echoed}
        broker.release(session.id)  # its response comes, is acknowledged and dropped


def test_request_ids_are_unique_across_executors_reusing_a_client_id(
    session: Session, broker: FakeBroker
) -> None:
    results = []
    for _ in range(2):  # as a restarted process would, one after the other
        with session.executor(client_id="same") as ex:
            futures = [ex.submit("echo", i) for i in range(100)]
        results += [f.result() for f in futures]
    assert len(broker.sessions[session.id].requests) == 200 and sorted(results) == sorted(
        list(range(100)) * 2
    )


def test_responses_taken_by_another_reader_of_the_same_client_id_are_asked_again_then_named(
    session: Session, broker: FakeBroker
) -> None:
    channel = session.client.channel
    flight = Flight(batch_size=10)
    receiver = ResponseReceiver(flight, channel.new_client(), channel.url, session.id, "same", "json")
    future = flight.pending["r1"] = SoaFuture("r1")
    channel.call("POST", f"{session.path}/requests",
                 json={"client_id": "same", "requests": [{"id": "r1", "op": "echo", "payload": {"args": [1]}}]})  # fmt: skip
    flight.count_accepted(1)
    poll = {"client_id": "same", "max": 10, "wait": 0}
    taken = channel.call("POST", f"{session.path}/responses", json=poll)  # another reader gets it first...
    channel.call(
        "POST", f"{session.path}/responses", json={**poll, "ack": [taken["responses"][0]["id"]]}
    )  # ...for good
    receiver.step()  # nothing comes, nothing is outstanding: ask for every unacknowledged one again
    assert receiver.restart and not future.done()
    receiver.step()  # still nothing: say what went wrong instead of waiting forever
    with pytest.raises(Conflict, match="one executor per client id"):
        future.result(timeout=0)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"client_id": "no spaces"}, "client_id"),
        ({"batch_size": 0}, "batch_size"),
        ({"codec": "xml"}, "codec"),
    ],
)
def test_bad_executor_settings_are_refused_naming_the_setting(
    session: Session, kwargs: dict, says: str
) -> None:
    with pytest.raises(InvalidSpec, match=says):
        session.executor(**kwargs)


def test_a_bad_operation_name_is_refused_at_submit(session: Session) -> None:
    with session.executor() as ex, pytest.raises(InvalidSpec, match="operation"):
        ex.submit("no-dashes", 1)
