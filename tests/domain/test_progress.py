"""The orchestrator's pure state: a window of open batches that slides as batches complete."""

from hpcburst.domain.progress import JobProgress


def test_the_window_opens_up_to_eight_batches_and_slides_as_they_complete():
    p = JobProgress.from_input({"job": "1", "batches": 20, "next": 1, "open": [0]})
    assert p.to_dispatch() == [1, 2, 3, 4, 5, 6, 7]
    p.dispatched(p.to_dispatch())
    p.apply({"complete": [0, 3], "canceled": False})
    assert p.to_dispatch() == [8, 9]
    assert not p.finished


def test_the_job_is_finished_when_every_batch_was_dispatched_and_none_is_open():
    p = JobProgress(job="1", batches=2, next=2, open=[1])
    p.apply({"complete": [1, 1, 5]})  # duplicates and strangers are harmless
    assert p.finished


def test_a_canceled_job_dispatches_nothing_more_and_is_finished():
    p = JobProgress(job="1", batches=50, next=8, open=[3])
    p.apply({"complete": [], "canceled": True})
    assert (p.to_dispatch(), p.finished) == ([], True)


def test_the_state_round_trips_through_continue_as_new():
    p = JobProgress(job="7", batches=100, next=40, open=[33, 39], generation=3)
    assert JobProgress.from_input(p.to_input()) == p
