"""Batch planning and the lease/result rules."""

from hpcburst.domain.job import Job, TaskSpec
from hpcburst.domain.leasing import (
    apply_result,
    lease_count,
    lease_for,
    mark_leased,
    priority_order,
    result_accepted,
)
from hpcburst.domain.planning import (
    batch_count,
    batch_length,
    batch_members,
    batch_of,
    batch_size_for,
    window_plan,
)
from hpcburst.domain.protocol import TaskResult
from hpcburst.domain.states import JobState, Priority, TaskState
from hpcburst.domain.task import OutputRef
from hpcburst.domain.task_document import TaskDocument


def _job(id="1", priority=Priority.NORMAL, submitted_at=0.0, tasks=None):
    tasks = tasks or [TaskSpec(command="echo * > out***.txt", sweep={"start": 1, "end": 5}, retries=1)]
    return Job(
        id=id,
        name="j",
        owner="me",
        priority=priority,
        tasks=tasks,
        state=JobState.QUEUED,
        submitted_at=submitted_at,
        total=5,
        batch_size=2,
        batches=3,
        instance_id="job-1",
    )


def test_a_100k_sweep_is_100_batches_of_1000():
    size = batch_size_for(100_000)
    assert (size, batch_count(100_000, size)) == (1000, 100)


def test_batches_cover_every_index_of_every_task_once():
    tasks = [TaskSpec(command="a", sweep={"start": 10, "end": 14}), TaskSpec(command="b")]
    members = [m for b in range(batch_count(6, 4)) for m in batch_members(tasks, 4, b)]
    assert members == [(1, 10), (1, 11), (1, 12), (1, 13), (1, 14), (2, 0)]
    assert batch_of(tasks, 4, 2, 0) == 1


def test_a_batch_length_is_known_without_listing_its_members():
    tasks = [TaskSpec(command="a", sweep={"start": 0, "end": 20, "step": 3}), TaskSpec(command="b")]
    total = 8  # 0, 3, ..., 18 and the basic task's index 0
    assert [batch_length(total, 3, b) for b in range(4)] == [3, 3, 2, 0]
    assert [batch_length(total, 3, b) for b in range(4)] == [
        len(list(batch_members(tasks, 3, b))) for b in range(4)
    ]


def test_the_window_keeps_a_fixed_number_of_batches_open():
    assert window_plan(next_batch=0, open_batches=0, batches=100, window=8) == list(range(8))
    assert window_plan(next_batch=8, open_batches=7, batches=100, window=8) == [8]
    assert window_plan(next_batch=99, open_batches=0, batches=100, window=8) == [99]


def test_long_tasks_lease_exactly_the_free_slots():
    assert lease_count(2, None) == 2
    assert lease_count(2, 30.0) == 2
    assert lease_count(0, 0.001) == 0


def test_short_tasks_lease_about_half_a_second_of_work_per_slot():
    assert lease_count(2, 0.1) == 10
    assert lease_count(2, 0.0001) == 512


def test_higher_priority_then_earlier_submission_goes_first():
    jobs = [_job("a", Priority.NORMAL, 1), _job("b", Priority.HIGHEST, 2), _job("c", Priority.NORMAL, 0)]
    assert [j.id for j in priority_order(jobs)] == ["b", "c", "a"]


def test_a_lease_substitutes_the_index():
    job = _job()
    doc = mark_leased(_doc(index=7, state="Queued", attempt=0), "n1", 5.0)
    lease = lease_for(job, doc, "1.1.7")
    assert (lease.command, lease.attempt, lease.job_name) == ("echo 7 > out007.txt", 1, "j")


def test_only_the_current_attempts_leaseholder_records_a_result():
    doc = _doc(state="Running", attempt=2, node="n1")
    assert result_accepted(doc, TaskResult(task="k", attempt=2, exit_code=0), "n1")
    assert not result_accepted(doc, TaskResult(task="k", attempt=1, exit_code=0), "n1")
    assert not result_accepted(doc, TaskResult(task="k", attempt=2, exit_code=0), "n2")
    assert not result_accepted(doc.changed(state=TaskState.FINISHED), TaskResult(task="k", attempt=2), "n1")


def test_a_failure_with_retries_left_goes_back_to_the_queue():
    spec = TaskSpec(command="x", retries=1)
    doc = _doc(state="Running", attempt=1, node="n1", retry_count=0, batch=0, open_batch=0)
    again = apply_result(doc, TaskResult(task="k", attempt=1, exit_code=3), spec).body()
    assert (again["state"], again["retry_count"], "node" in again, again["open_batch"]) == (
        "Queued",
        1,
        False,
        0,
    )
    running = TaskDocument.stored({**again, "state": "Running", "attempt": 2})
    final = apply_result(running, TaskResult(task="k", attempt=2, exit_code=3), spec).body()
    assert final["state"] == "Failed"
    assert "open_batch" not in final  # a final index no longer counts towards its batch being open


def test_a_timeout_is_a_failure_even_with_exit_code_0():
    spec = TaskSpec(command="x")
    doc = _doc(state="Running", attempt=1, node="n1")
    timed_out = TaskResult(task="k", attempt=1, exit_code=0, timed_out=True)
    assert apply_result(doc, timed_out, spec).state == TaskState.FAILED


def _doc(**fields: object) -> TaskDocument:
    """A stored task document with these fields (job 1, task 1, index 1, batch 0 unless given)."""
    return TaskDocument.stored({"job": "1", "task": 1, "index": 1, "batch": 0, **fields})


def test_a_task_document_writes_back_the_json_it_was_read_from_and_what_the_rules_changed():
    stored = {"job": "1", "task": 1, "index": 4, "batch": 0, "state": "Queued", "attempt": 0, "open_batch": 0,
              "later": {"kept": True}}  # fmt: skip
    doc = TaskDocument.stored(stored)
    assert doc.body() == stored  # no defaults added (retry_count, timed_out...), unknown fields kept
    leased = mark_leased(doc, "n1", 5.0)
    assert leased.body() == {**stored, "state": "Running", "attempt": 1, "node": "n1", "holder": "n1",
                             "leased_at": 5.0}  # fmt: skip
    out = OutputRef(blob="nodes/default/n1/a.seg", length=3)
    result = TaskResult(task="k", attempt=1, exit_code=0, started_at=6.0, ended_at=7.0, stdout=out)
    done = apply_result(leased, result, TaskSpec(command="x")).body()
    expected = {
        **stored,
        "state": "Finished",
        "attempt": 1,
        "node": "n1",
        "leased_at": 5.0,
        "exit_code": 0,
        "timed_out": False,
        "started_at": 6.0,
        "ended_at": 7.0,
        "stdout": {"container": "hpc-output", "blob": "nodes/default/n1/a.seg", "offset": 0, "length": 3},
    }
    del expected["open_batch"]  # fmt: skip
    assert done == expected
