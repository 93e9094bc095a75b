"""The node agent, driven one step at a time against the fake service and real blob storage (Azurite)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from agent_fakes import FakeService, read_ref, run_until_reported

from hpcburst import constants as c
from hpcburst.domain.protocol import (
    HeartbeatResponse,
    Lease,
    LeaseResponse,
    ReportRequest,
    ReportResponse,
    RunningRef,
)
from hpcburst.domain.states import NodeState
from hpcburst.emulators import Azurite
from hpcburst.errors import ClusterUnreachable
from hpcburst.storage.blob.azure import AzureBlobStore
from nodeagent.agent import Agent, AgentConfig
from nodeagent.api import cancel_runs
from nodeagent.ledger import Finished, Held, Ledger
from nodeagent.runner import ProcessRunner, RunResult
from nodeagent.service import AgentService


def test_each_index_runs_with_the_hpc_pack_environment_and_its_output_lands_in_blob_storage(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore
) -> None:
    keys = service.add("j1", 'echo "$CCP_JOBID $CCP_TASKID $CCP_TASKINSTANCEID $CCP_NODES $CCP_JOBNAME *"', 5)
    agent = make_agent(slots=2)
    while len(agent.ledger.unreported) < 5:
        agent.lease_once(wait=0)
        agent.step(0.05)
    assert agent.report_once() == 5
    for index, key in enumerate(keys):
        result = service.results[key]
        assert result.exit_code == 0 and result.stderr is None  # empty streams get no blob
        assert read_ref(blobs, result.stdout) == f"j1 1 {index} 1 n1 1 j1 {index}\n".encode()
        assert result.started_at is not None and result.ended_at is not None
    # one report batch -> one segment blob shared by its indices
    assert len({service.results[k].stdout.blob for k in keys}) == 1  # type: ignore[union-attr]


def test_failures_timeouts_and_missing_programs_are_reported_with_their_reason(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore
) -> None:
    (failing,) = service.add("fail", "sh -c 'echo bad >&2; exit 4'")
    (slow,) = service.add("slow", "sleep 30", max_run_time=0.3)
    (missing,) = service.add("missing", "no-such-program-xyz")
    run_until_reported(make_agent(slots=3), service, 3)
    assert service.results[failing].exit_code == 4
    assert read_ref(blobs, service.results[failing].stderr) == b"bad\n"
    assert service.results[slow].timed_out and service.results[slow].message
    assert service.results[missing].exit_code == 127
    assert b"no-such-program-xyz" in read_ref(blobs, service.results[missing].stderr)


def test_a_stdout_file_is_written_in_the_workdir_and_kept_in_blob_storage(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore, task_root: Path
) -> None:
    (key,) = service.add("files", "echo tile-7", workdir="run", stdout="out/tile.txt")
    run_until_reported(make_agent(keep_task_dirs=True), service, 1)
    index_dir = task_root / "n1" / "tasks" / "files" / "1.0.1"
    assert (index_dir / "run" / "out" / "tile.txt").read_bytes() == b"tile-7\n"
    assert read_ref(blobs, service.results[key].stdout) == b"tile-7\n"


def test_no_more_processes_run_at_once_than_the_node_has_slots(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    service.add("many", "true", 20)
    agent = make_agent(slots=3)
    peak = 0
    for _ in range(2000):
        agent.lease_once(wait=0)
        agent.step(0.05)
        peak = max(peak, agent.runner.running)
        agent.report_once()
        if len(service.results) == 20:
            break
    assert len(service.results) == 20 and peak <= 3


def test_tiny_tasks_are_leased_ahead_so_the_backlog_never_runs_dry(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    service.per_slot = 10  # the service judged the tasks short
    service.add("tiny", "true", 100)
    agent = make_agent(slots=2)
    assert agent.lease_once(wait=0) == 20
    agent.step(0.0)  # two start, 18 wait here
    assert agent.lease_once(wait=0) is None  # plenty queued here: no call
    while len(agent.ledger.backlog) > 4:
        agent.step(0.05)
    assert agent.lease_once(wait=0) == 20  # low: refill before running dry
    assert service.lease_calls[-1].free_slots == 2


def test_a_cancel_from_the_heartbeat_kills_the_running_process_tree(
    service: FakeService, make_agent: Callable[..., Agent], task_root: Path
) -> None:
    pidfile = task_root / "n1" / "tasks" / "cancel" / "1.0.1" / "child.pid"  # in the index's directory
    (key,) = service.add("cancel", "sleep 60 & echo $! > child.pid; wait")
    agent = make_agent()
    agent.lease_once(wait=0)
    while not pidfile.exists() or not pidfile.read_text().strip():
        agent.step(0.05)
    child = int(pidfile.read_text())
    service.cancel.add(key)
    agent.heartbeat_once()
    while agent.runner.running:
        agent.step(0.1)
    assert not Path(f"/proc/{child}").exists() or _zombie(child)
    assert not pidfile.parent.exists()  # a canceled index's directory goes too
    assert agent.ledger.unreported == type(agent.ledger.unreported)()  # a canceled run is not reported


def _zombie(pid: int) -> bool:
    import psutil

    try:
        psutil.Process(pid).wait(timeout=5)
        return True
    except psutil.NoSuchProcess:
        return True


def test_an_offline_node_drains_finishing_what_it_holds_and_leasing_nothing(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    service.add("drain", "true", 3)
    agent = make_agent(slots=1)
    assert agent.lease_once(wait=0) == 1
    service.nodes["n1"] = NodeState.OFFLINE
    agent.heartbeat_once()
    assert agent.lease_once(wait=0) is None
    run_until_reported(agent, service, 1)
    assert len(service.queued) == 2  # untouched
    service.nodes["n1"] = NodeState.ONLINE
    agent.heartbeat_once()
    run_until_reported(agent, service, 3)


def test_results_survive_a_service_outage_and_are_reported_once_it_is_back(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore
) -> None:
    service.add("outage", "echo *", 4)
    agent = make_agent(slots=4)
    agent.lease_once(wait=0)
    while len(agent.ledger.unreported) < 4:
        agent.step(0.1)
    service.fail_next = 1
    with pytest.raises(ClusterUnreachable):
        agent.report_once()
    assert len(agent.ledger.unreported) == 4
    assert agent.report_once() == 4 and len(service.results) == 4
    assert len({r.stdout.blob for r in service.results.values() if r.stdout}) == 1  # not stored again


def test_a_forgotten_node_registers_again(service: FakeService, make_agent: Callable[..., Agent]) -> None:
    agent = make_agent()
    runner = AgentService(agent)
    service.nodes.clear()  # the service lost track of the node
    assert runner._once(agent.heartbeat_once, "heartbeat") is None
    assert "n1" in service.nodes
    runner._once(agent.heartbeat_once, "heartbeat")
    assert service.heartbeats[-1].node == "n1"


def test_inputs_are_staged_before_an_index_starts_and_output_files_collected_after(
    service: FakeService,
    make_agent: Callable[..., Agent],
    blobs: AzureBlobStore,
    azurite: Azurite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blobs.ensure_container(c.BLOB_DATA)
    blobs.put(c.BLOB_DATA, "stage/in.txt", b"21")
    (key,) = service.add(
        "stage", "sh -c 'expr $(cat in.txt) + 21 > result.txt'",
        input_files=[{"blob": "hpc-data/stage/in.txt", "path": "in.txt"}],
        output_files=[{"pattern": "result.txt", "blob": "hpc-output/stage/result-0.txt"}],
        workdir="idx0",
    )  # fmt: skip
    run_until_reported(make_agent(), service, 1)
    assert service.results[key].exit_code == 0 and service.results[key].message is None
    assert blobs.get(c.BLOB_OUTPUT, "stage/result-0.txt") == b"42\n"
    assert service.grant_calls == []  # the lease's own grants sufficed


def test_glob_outputs_are_granted_on_request_only_for_files_matching_their_pattern(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore
) -> None:
    (key,) = service.add(
        "globbed", "mkdir -p out && echo a > out/part-1.csv && echo b > out/part-2.csv && echo c > out/notes.txt",
        output_files=[{"pattern": "out/part-*.csv", "blob": "hpc-output/globbed"}],  # substituted
    )  # fmt: skip
    run_until_reported(make_agent(), service, 1)
    assert service.results[key].exit_code == 0 and service.results[key].message is None
    assert blobs.get(c.BLOB_OUTPUT, "globbed/out/part-1.csv") == b"a\n"
    assert blobs.get(c.BLOB_OUTPUT, "globbed/out/part-2.csv") == b"b\n"
    assert sorted(o for call in service.grant_calls for o in call.outputs) == [
        "out/part-1.csv",
        "out/part-2.csv",
    ]
    assert not list(blobs.list(c.BLOB_OUTPUT, "globbed/out/notes"))


def test_an_output_file_the_service_refuses_to_grant_is_reported_with_the_reason(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore
) -> None:
    (key,) = service.add(
        "reserved", "echo x > seg.txt",
        output_files=[{"pattern": "seg.txt", "blob": "hpc-output/nodes/default/other-node/forged.seg"}],
    )  # fmt: skip
    run_until_reported(make_agent(), service, 1)
    assert service.results[key].exit_code == 0  # the exit code still counts
    assert "collecting output files failed" in (service.results[key].message or "")
    assert "Forbidden" in (service.results[key].message or "") or "may not write" in (
        service.results[key].message or ""
    )


def test_an_input_that_cannot_be_staged_fails_the_index_with_the_reason(
    service: FakeService, make_agent: Callable[..., Agent], azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    (key,) = service.add(
        "nostage", "true", input_files=[{"blob": "hpc-data/missing/nothing.bin", "path": "x"}]
    )
    run_until_reported(make_agent(), service, 1)
    assert service.results[key].exit_code is None
    assert "staging inputs failed" in (service.results[key].message or "")


def _held(attempt: int, **fields: object) -> Held:
    fields = {"command": "true", **fields}
    return Held(Lease(task="j.1.5", job="j", task_id=1, index=5, attempt=attempt, retry_count=attempt - 1,
                      job_name="j", **fields))  # type: ignore[arg-type]  # fmt: skip


def test_a_cancel_names_the_attempt_so_of_two_attempts_held_only_that_one_is_killed(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    """Attempts 1 and 2 of one task held at once (1 finished, unacknowledged; 2 its retry, running):
    the service cancels (task, 1) only, and attempt 2 runs on untouched."""
    agent = make_agent(slots=1)
    first, retry = _held(1), _held(2, command="sleep 60")
    agent.ledger.unreported.append(Finished(first, RunResult(first.key, 3, 0.0, 1.0)))
    agent.ledger.running[retry.key] = retry
    agent.runner.start(agent._spec(retry))
    service.nodes["n1"], service.leased["j.1.5"] = NodeState.ONLINE, ("n1", 2)
    agent.heartbeat_once()
    assert service.heartbeats[-1].running == [RunningRef(task="j.1.5", attempt=a) for a in (2, 1)]
    assert agent.ledger.cancels == {("j.1.5", 1)}
    agent.step(0)
    assert agent.runner.keys() == [retry.key] and list(agent.ledger.running) == [retry.key]
    service.cancel.add("j.1.5")  # now the retry itself is canceled
    agent.heartbeat_once()
    assert ("j.1.5", 2) in agent.ledger.cancels
    while agent.runner.running:
        agent.step(0.05)
    assert not agent.ledger.running


def test_a_cancel_of_one_attempt_drops_only_that_attempt_from_the_backlog() -> None:
    ledger = Ledger(slots=1)
    ledger.backlog.append(_held(2))  # the retry, leased in the same response that cancels attempt 1
    ledger.cancel([RunningRef(task="j.1.5", attempt=1)])
    ledger.take_cancels()
    assert [h.key for h in ledger.backlog] == [("j.1.5", 2)]
    ledger.cancel([RunningRef(task="j.1.5", attempt=2)])
    ledger.take_cancels()
    assert not ledger.backlog


def test_a_canceled_index_whose_inputs_are_still_arriving_is_dropped_not_started() -> None:
    ledger = Ledger(slots=1)
    held = _held(1, input_files=[{"blob": "hpc-data/in", "path": "in"}])
    ledger.staging[held.key] = held
    ledger.cancel(ledger.refs())
    assert ledger.take_cancels() == {("j.1.5", 1)}
    assert not ledger.staging  # so staging's completion finds nothing to start


def test_cancels_reach_agents_of_the_previous_release_as_task_keys_and_older_services_are_understood() -> (
    None
):
    runs = [RunningRef(task="j.1.5", attempt=1), RunningRef(task="j.1.6", attempt=3)]
    sent = json.loads(
        HeartbeatResponse(state=NodeState.ONLINE, drain=False, cancel_runs=runs).model_dump_json()
    )
    assert sent["cancel"] == ["j.1.5", "j.1.6"]  # what an older agent reads
    assert cancel_runs(HeartbeatResponse.model_validate(sent), []) == runs
    # An older service names keys only: applied when one attempt of the task was sent, never guessed among two.
    old = LeaseResponse.model_validate({"leases": [], "cancel": ["j.1.5", "j.1.6"]})
    held = [RunningRef(task="j.1.5", attempt=a) for a in (1, 2)] + [RunningRef(task="j.1.6", attempt=3)]
    assert cancel_runs(old, held) == [RunningRef(task="j.1.6", attempt=3)]


def test_a_retry_leased_before_its_failed_attempt_is_acknowledged_survives_a_heartbeat_in_between(
    service: FakeService, make_agent: Callable[..., Agent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service retries a failure as soon as the report reaches it; the retry's lease answer can come
    back before the report's, so a heartbeat then lists both attempts and is told to cancel
    (task, 1), the finished attempt. Attempt 2 must still run and be reported."""
    (key,) = service.add("retry", "exit 3")
    agent = make_agent(slots=1)
    agent.lease_once(wait=0)
    while not agent.ledger.unreported:
        agent.step(0.05)
    report = service.report

    def report_then_retry(request: ReportRequest) -> ReportResponse:
        response = report(request)
        service.results.pop(key)  # the service keeps attempt 1 as a failure and queues attempt 2
        service.queued.append(agent.ledger.unreported[0].held.lease.model_copy(update={"attempt": 2}))
        agent.lease_once(wait=0)  # the retry's lease answer overtakes the report's
        agent.heartbeat_once()  # ... and a heartbeat in that window lists attempts 1 and 2
        assert service.heartbeats[-1].running == [RunningRef(task=key, attempt=a) for a in (1, 2)]
        return response

    monkeypatch.setattr(service, "report", report_then_retry)
    assert agent.report_once() == 1
    monkeypatch.undo()
    agent.step(0)  # applies the cancel
    assert agent.ledger.refs() == [RunningRef(task=key, attempt=2)]  # still held (running or finished)
    run_until_reported(agent, service, 1)
    assert service.results[key].attempt == 2


def test_packages_for_the_nodes_pool_are_installed_under_the_package_root(
    azurite: Azurite, blobs: AzureBlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpcburst.data.packages import create_package, upload_package
    from nodeagent.packages import sync_packages

    app = tmp_path / "app"
    app.mkdir()
    (app / "run.sh").write_text("echo solver\n")
    upload_package(blobs, "solver", create_package("solver", app, tmp_path / "solver.zip"), pool="gpu")
    assert not sync_packages(tmp_path / "pkgs", "gpu", None)  # no storage: nothing to do
    assert sync_packages(tmp_path / "pkgs", "gpu", blobs)
    assert (tmp_path / "pkgs" / "solver" / "run.sh").read_text() == "echo solver\n"
    assert sync_packages(tmp_path / "other", "cpu", blobs) and not (tmp_path / "other" / "solver").exists()


def test_an_index_whose_workdir_cannot_be_made_fails_and_the_agent_goes_on(
    service: FakeService, make_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("a file, not a directory")
    (bad,) = service.add("bad", "true", workdir=str(tmp_path / "blocker" / "sub"))
    (good,) = service.add("good", "true")
    run_until_reported(make_agent(), service, 2)
    assert service.results[bad].exit_code is None and "cannot start" in (service.results[bad].message or "")
    assert service.results[good].exit_code == 0


def test_an_index_with_inputs_whose_workdir_cannot_be_made_fails_and_the_next_is_staged(
    service: FakeService,
    make_agent: Callable[..., Agent],
    blobs: AzureBlobStore,
    azurite: Azurite,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    blobs.ensure_container(c.BLOB_DATA)
    blobs.put(c.BLOB_DATA, "badstage/in.txt", b"x")
    (tmp_path / "blocker").write_text("a file, not a directory")
    inputs = [{"blob": "hpc-data/badstage/in.txt", "path": "in.txt"}]
    (bad,) = service.add("bad", "true", input_files=inputs, workdir=str(tmp_path / "blocker" / "sub"))
    (good,) = service.add("good", "cat in.txt", input_files=inputs, workdir="good")
    run_until_reported(make_agent(), service, 2)
    assert service.results[bad].exit_code is None and "staging inputs failed" in (
        service.results[bad].message or ""
    )
    assert service.results[good].exit_code == 0


def test_a_node_with_its_own_storage_connection_uses_it_and_names_segments_under_its_prefix(
    azurite: Azurite, blobs: AzureBlobStore, task_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsigned = FakeService()  # hands out no grants at all
    monkeypatch.setenv(c.ENV_STORAGE_CONNECTION, azurite.connection_string)  # the admin's choice
    blobs.ensure_container(c.BLOB_DATA)
    blobs.put(c.BLOB_DATA, "own/in.txt", b"own")
    (key,) = unsigned.add(
        "own", "cat in.txt", input_files=[{"blob": "hpc-data/own/in.txt", "path": "in.txt"}]
    )
    config = AgentConfig(url="http://fake", node="own-1", workdir=task_root / "own-1")
    agent = Agent(config, runner=ProcessRunner(kill_grace=0.5), api=unsigned.api)
    try:
        agent.register()
        run_until_reported(agent, unsigned, 1)
    finally:
        agent.close()
    ref = unsigned.results[key].stdout
    assert ref is not None and ref.blob.startswith("nodes/default/own-1/")
    assert read_ref(blobs, ref) == b"own"


def test_with_no_grants_and_no_connection_the_exit_codes_are_still_reported(
    task_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(c.ENV_STORAGE_CONNECTION, raising=False)
    unsigned = FakeService()  # a cluster without blob storage grants nothing
    (key,) = unsigned.add("nostore", "echo lost")
    agent = Agent(
        AgentConfig(url="http://fake", node="bare-1", workdir=task_root / "bare-1"), api=unsigned.api
    )
    try:
        agent.register()
        run_until_reported(agent, unsigned, 1)
    finally:
        agent.close()
    assert unsigned.results[key].exit_code == 0 and unsigned.results[key].stdout is None
