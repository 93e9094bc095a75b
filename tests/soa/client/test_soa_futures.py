"""SoaFuture behaves as a concurrent.futures.Future wherever the standard library looks at one."""

from __future__ import annotations

import concurrent.futures as cf
import gc
import threading
import tracemalloc

import pytest

from hpcburst.soa.futures import SoaFuture, finish_batch


def _finish_later(outcomes: list[tuple[SoaFuture, object, BaseException | None]]) -> threading.Thread:
    started = threading.Event()

    def run() -> None:
        started.set()
        for outcome in outcomes:
            finish_batch([outcome])

    thread = threading.Thread(target=run)
    thread.start()
    started.wait()
    return thread


def test_as_completed_yields_each_future_once_as_another_thread_finishes_them() -> None:
    futures = [SoaFuture(str(i)) for i in range(200)]
    futures[0].set_result("early")  # done before as_completed looks
    thread = _finish_later([(f, int(f.id), None) for f in futures[1:]])
    seen = [f.id for f in cf.as_completed(futures + futures[:5], timeout=30)]  # duplicates come once
    thread.join()
    assert sorted(seen, key=int) == [f.id for f in futures]


def test_wait_returns_on_the_first_exception_or_the_first_completion() -> None:
    ok, bad, never = SoaFuture("ok"), SoaFuture("bad"), SoaFuture("never")
    thread = _finish_later([(ok, 1, None), (bad, None, ValueError("x"))])
    done, not_done = cf.wait([ok, bad, never], timeout=30, return_when=cf.FIRST_EXCEPTION)
    thread.join()
    assert bad in done and not_done == {never}
    assert cf.wait([ok, never], return_when=cf.FIRST_COMPLETED).done == {ok}


def test_wait_with_a_timeout_leaves_unfinished_futures_not_done() -> None:
    done, not_done = cf.wait([SoaFuture("a")], timeout=0.01)
    assert not done and len(not_done) == 1


def test_result_and_exception_wait_then_raise_timeout_cancelled_or_the_error() -> None:
    pending, failed, cancelled = SoaFuture("p"), SoaFuture("f"), SoaFuture("c")
    with pytest.raises(TimeoutError):
        pending.result(timeout=0.01)
    with pytest.raises(TimeoutError):
        pending.exception(timeout=0.01)
    failed.set_exception(KeyError("k"))
    assert isinstance(failed.exception(), KeyError)
    with pytest.raises(KeyError):
        failed.result()
    assert cancelled.cancel() and cancelled.cancel() and cancelled.cancelled() and cancelled.done()
    with pytest.raises(cf.CancelledError):
        cancelled.result()
    thread = _finish_later([(pending, "late", None)])
    assert pending.result(timeout=30) == "late"
    thread.join()


def test_a_finished_future_cannot_be_cancelled_or_finished_again() -> None:
    future = SoaFuture("x")
    future.set_result(1)
    assert not future.cancel() and not future.cancelled()
    with pytest.raises(cf.InvalidStateError):
        future.set_result(2)
    assert finish_batch([(future, 3, None)]) == 0 and future.result() == 1


def test_a_failing_callback_does_not_stop_the_others() -> None:
    future, seen = SoaFuture("x"), []
    future.add_done_callback(lambda f: 1 / 0)
    future.add_done_callback(lambda f: seen.append(f.result()))
    future.set_result(9)
    assert seen == [9]


def test_a_future_costs_a_small_fraction_of_a_stock_one() -> None:
    n = 10_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        light = [SoaFuture(f"{i:x}") for i in range(n)]
        middle = tracemalloc.get_traced_memory()[0]
        stock = [cf.Future() for _ in range(n)]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_light, per_stock = (middle - before) / n, (after - middle) / n
    assert per_light <= 250 and per_light * 6 < per_stock, (per_light, per_stock)  # id string included
    assert len(light) == len(stock)
