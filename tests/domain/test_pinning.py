"""The pinning rule (clusrun), as pure functions: who may lease a pinned index, and when it is stranded."""

from hpcburst.domain.job import Job, TaskSpec
from hpcburst.domain.leasing import runs_on
from hpcburst.domain.pinning import leasable_by, why_stranded
from hpcburst.domain.states import JobState, NodeState, Priority, TaskState
from hpcburst.domain.task_document import TaskDocument
from hpcburst.services.burst_inputs import queued_work


def _job(*pins: str | None, pool: str | None = None, never_burst: bool = False) -> Job:
    tasks = [TaskSpec(command="hostname", node=pin) for pin in pins]
    return Job(id="7", name="clusrun: hostname", owner="root", priority=Priority.NORMAL, pool=pool,
               never_burst=never_burst, tasks=tasks, state=JobState.QUEUED, submitted_at=0.0,
               total=len(tasks), batch_size=len(tasks), batches=1, instance_id="job-7")  # fmt: skip


def test_a_job_pinned_to_some_nodes_runs_on_those_only():
    job = _job("a", "b")
    assert runs_on(job, "default", node="a") and runs_on(job, "default", node="b")
    assert not runs_on(job, "default", node="c")


def test_a_pin_never_overrides_the_pool_or_never_burst():
    assert not runs_on(_job("a", pool="gpu"), "cpu", node="a")
    assert not runs_on(_job("a", never_burst=True), "default", cloud=True, node="a")


def test_a_job_with_one_unpinned_task_runs_anywhere_but_its_pinned_task_does_not():
    job = _job("a", None)
    assert runs_on(job, "default", node="c")
    mine = leasable_by(job, "c")
    assert mine is not None
    docs = [TaskDocument(job=job.id, task=n, index=1, batch=0, state=TaskState.QUEUED) for n in (1, 2)]
    assert [mine(d) for d in docs] == [False, True]
    assert leasable_by(_job(None), "c") is None  # no pins: no per-document test at all


def test_a_pinned_index_is_stranded_once_its_node_is_not_online():
    assert why_stranded("a", NodeState.ONLINE) is None
    for state in (NodeState.OFFLINE, NodeState.UNREACHABLE):
        assert f"node a is {state.value}" in (why_stranded("a", state) or "")
    assert "node a is no longer registered" in (why_stranded("a", None) or "")


def test_pinned_work_never_asks_the_burst_controller_for_nodes():
    assert queued_work(_job("a", "b"), waiting=2, running=0, duration=None) is None
    assert queued_work(_job("a", None), waiting=2, running=0, duration=None) is not None
