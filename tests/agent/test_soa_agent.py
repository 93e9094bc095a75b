"""The agent's SOA side, driven step by step against the fake broker with real service host processes."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from agent_fakes import FakeService
from soa_fakes import FakeBroker

from hpcburst.soa import codec
from hpcburst.storage.blob.azure import AzureBlobStore
from nodeagent.agent import Agent
from nodeagent.runas import RunAs
from nodeagent.service import AgentService
from nodeagent.soa.loop import SoaLoop

SERVICES = Path(__file__).parents[1] / "soa" / "services"
Until = Callable[[], bool]


@pytest.fixture
def broker(service: FakeService) -> FakeBroker:
    return service.broker


@pytest.fixture
def node(make_agent: Callable[..., Agent], task_root: Path) -> Agent:
    """A 2-slot agent whose package root holds the test services as package ``calcpkg``."""
    packages = task_root / "packages"
    shutil.copytree(SERVICES, packages / "calcpkg" / "services")
    agent = make_agent(slots=2, package_root=packages)
    agent.run_as = RunAs(euid=1000)  # hosts run as this test's own account (root's Python is not nobody's)
    return agent


@pytest.fixture
def loop(node: Agent) -> SoaLoop:
    return SoaLoop(node.soa, node.api, node.config.node, node.config.pool, wait=0.0)


def drive(agent: Agent, loop: SoaLoop, until: Until, rounds: int = 3000) -> None:
    """Lease (hosts start), flush news and poll for requests until ``until()`` (bounded, no sleeps)."""
    for _ in range(rounds):
        if until():
            return
        agent.lease_once(wait=0)
        loop.flush_step(0.02)
        loop.long_poll_step(0)
    raise AssertionError("the agent never got there")


def answered(broker: FakeBroker, ids: list[str]) -> Until:
    return lambda: all(("c1", i) in broker.responses for i in ids)


def test_a_leased_host_takes_a_slot_and_answers_requests_in_both_codecs(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg", environment={"COLOR": "blue"})
    ids = broker.submit("s1", "Add", 2, 3, count=50)
    [pickled] = broker.submit("s1", "echo", {1, 2}, codec_name="pickle")
    [env] = broker.submit("s1", "env", "CCP_SERVICENAME")
    [color] = broker.submit("s1", "env", "COLOR")
    drive(node, loop, answered(broker, [*ids, pickled, env, color]))
    assert node.ledger.free_slots() == 1  # the host holds one of the two slots
    assert all(broker.value(i) == 5 for i in ids)
    assert codec.decode_value(broker.value(pickled), "pickle") == {1, 2}
    assert (broker.value(env), broker.value(color)) == ("calc", "blue")
    assert all(r.attempt == 1 and r.host == "s1.1" for r in broker.responses.values())


def test_the_poll_reports_hosts_ready_with_room_for_a_prefetch(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg", max_concurrent=2)
    drive(node, loop, lambda: any(s.ready for p in broker.polls for s in p.hosts))
    state = next(s for p in broker.polls for s in p.hosts if s.ready)
    assert state.host == "s1.1" and state.want > 2  # its running room plus at least one queued


def test_faults_retries_and_unknown_operations_come_back_as_the_host_said(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg")
    [failing] = broker.submit("s1", "fail", "bad input")
    [retried] = broker.submit("s1", "retry_me")
    [unknown] = broker.submit("s1", "nope")
    drive(node, loop, answered(broker, [failing, retried, unknown]))
    assert (broker.fault(failing).type, broker.fault(failing).message) == ("ValueError", "bad input")
    assert broker.fault(failing).node == "n1" and "raise ValueError" in (
        broker.fault(failing).traceback or ""
    )
    assert broker.fault(unknown).type == "UnknownOperation"
    assert [r.attempt for r in broker.retries if r.id == retried] == [1, 2, 3]  # run again up to the limit
    assert broker.fault(retried).type == "RetryOperation" and broker.fault(retried).attempts == 3


def test_a_host_whose_import_fails_ends_with_the_reason_and_frees_its_slot(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", module="services.broken", package="calcpkg")
    drive(node, loop, lambda: "s1.1" in broker.ended)
    assert broker.ended["s1.1"].reason == "init failed: ImportError: the solver library is missing"
    assert node.soa.count == 0 and node.ledger.free_slots() == 2


def test_a_host_that_does_not_get_ready_in_time_is_killed(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", module="services.slow_start", package="calcpkg", init_timeout=0.3)
    drive(node, loop, lambda: "s1.1" in broker.ended)
    assert broker.ended["s1.1"].reason == "init timeout"


def test_a_call_past_the_operation_timeout_kills_its_host_and_comes_back_as_a_retry(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg", operation_timeout=0.3)
    [slow] = broker.submit("s1", "sleep", 30)
    drive(node, loop, lambda: "s1.1" in broker.ended)
    assert broker.ended["s1.1"].reason == "operation timeout"
    [retry] = [r for r in broker.retries if r.id == slow]
    assert retry.fault is not None and retry.fault.type == "OperationTimeout" and retry.attempt == 1


def test_a_host_killed_with_sigkill_gives_its_calls_back_as_retries(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg")
    [first] = broker.submit("s1", "pid")
    drive(node, loop, answered(broker, [first]))
    [slow] = broker.submit("s1", "sleep", 30)
    drive(node, loop, lambda: bool(node.soa.hosts["s1.1"].calls))
    os.kill(broker.value(first), signal.SIGKILL)
    drive(node, loop, lambda: "s1.1" in broker.ended)
    assert broker.ended["s1.1"].reason == "died: signal 9"
    [retry] = [r for r in broker.retries if r.id == slow]
    assert retry.fault is not None and retry.fault.type == "HostDied"
    assert node.soa.count == 0 and node.ledger.free_slots() == 2


def test_stop_lets_the_calls_sent_finish_then_the_host_ends(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg")
    ids = broker.submit("s1", "sleep", 0.05, count=3)
    drive(node, loop, lambda: not broker.queues["s1"])  # all three sent to the host
    broker.stop("s1.1")
    drive(node, loop, lambda: "s1.1" in broker.ended)
    assert broker.ended["s1.1"].reason == "stopped"
    assert all(broker.value(i) == 0.05 for i in ids)
    assert not broker.retries


def test_a_response_stays_until_a_call_carrying_it_is_answered(
    node: Agent, loop: SoaLoop, broker: FakeBroker, service: FakeService
) -> None:
    broker.host("s1", package="calcpkg")
    [one] = broker.submit("s1", "echo", 1)
    drive(node, loop, lambda: len(node.soa.outbox) > 0 or ("c1", one) in broker.responses)
    service.fail_next = 1
    if ("c1", one) not in broker.responses:
        with pytest.raises(Exception, match="down"):
            loop.poll_once(0)
        assert len(node.soa.outbox) == 1  # still held
    drive(node, loop, answered(broker, [one]))
    assert broker.value(one) == 1 and len(node.soa.outbox) == 0


def test_common_data_is_downloaded_once_per_node_and_dropped_with_the_sessions_last_host(
    node: Agent, loop: SoaLoop, broker: FakeBroker, blobs: AzureBlobStore
) -> None:
    blobs.ensure_container("hpc-data")
    blobs.put("hpc-data", "sessions/s1/table", b"shared rows")
    broker.data_urls["s1"] = {
        "table": blobs.sas_url("hpc-data", "sessions/s1/table", "r", timedelta(hours=1))
    }
    broker.host("s1", package="calcpkg", n=1)
    broker.host("s1", package="calcpkg", n=2)
    drive(node, loop, lambda: sum(s.ready for s in broker.polls[-1].hosts) == 2 if broker.polls else False)
    ids = broker.submit("s1", "data", "table", count=4)  # two to each host
    [missing] = broker.submit("s1", "data", "other")
    drive(node, loop, answered(broker, [*ids, missing]))
    assert all(broker.value(i) == "shared rows" for i in ids)
    assert {r.host for r in broker.responses.values()} == {"s1.1", "s1.2"}  # both hosts read it
    assert node.soa.cache.downloads == 1
    assert broker.fault(missing).type == "NotFound"
    cached = node.config.workdir / "soa-data" / "s1" / "table"
    assert cached.read_bytes() == b"shared rows" and oct(cached.stat().st_mode & 0o777) == "0o644"
    broker.stop("s1.1")
    broker.stop("s1.2")
    drive(node, loop, lambda: {"s1.1", "s1.2"} <= set(broker.ended))
    assert not cached.parent.exists()


def test_a_host_the_broker_does_not_know_is_told_to_stop(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg")
    drive(node, loop, lambda: node.soa.count == 1)
    del broker.placed["s1.1"]  # the broker restarted and forgot it
    drive(node, loop, lambda: node.soa.count == 0)


def test_the_running_agent_long_polls_for_requests_and_flushes_responses_at_once(
    node: Agent, broker: FakeBroker
) -> None:
    """The long-poll waits (20 s here) while responses travel on immediate calls (``wait`` 0) of their own."""
    runner = AgentService(node)
    runner.soa.wait = 20.0
    thread = threading.Thread(target=runner._serve, daemon=True)
    thread.start()
    try:
        broker.host("s1", package="calcpkg")
        ids = broker.submit("s1", "Add", 1, 2, count=200)
        for _ in range(1000):
            with broker.lock:
                if answered(broker, ids)():
                    break
            runner.stop_event.wait(0.02)
        assert all(broker.value(i) == 3 for i in ids)
        carrying = [p for p in broker.polls if p.responses]
        assert carrying and all(p.wait == 0 for p in carrying)
        assert any(p.wait == 20.0 for p in broker.polls)  # and one waited for work meanwhile
    finally:
        runner.stop()
        thread.join(timeout=30)


def test_with_concurrent_calls_only_the_one_past_its_timeout_is_an_operation_timeout(
    node: Agent, loop: SoaLoop, broker: FakeBroker
) -> None:
    broker.host("s1", package="calcpkg", max_concurrent=2, operation_timeout=0.5)
    [stuck] = broker.submit("s1", "sleep", 30)
    quick = broker.submit("s1", "echo", 1, count=3)
    drive(node, loop, lambda: "s1.1" in broker.ended)
    assert all(broker.value(i) == 1 for i in quick)  # ran beside it on the other worker
    [retry] = [r for r in broker.retries if r.id == stuck]
    assert retry.fault is not None and retry.fault.type == "OperationTimeout"


def test_a_node_without_hosts_does_not_poll(node: Agent, loop: SoaLoop, broker: FakeBroker) -> None:
    assert loop.long_poll_step() is None
    assert loop.flush_step(0) is None
    assert broker.polls == []


def test_tasks_run_only_in_the_slots_hosts_leave_free(
    node: Agent, loop: SoaLoop, broker: FakeBroker, service: FakeService
) -> None:
    broker.host("s1", package="calcpkg")
    drive(node, loop, lambda: node.soa.count == 1)
    service.add("tasks", "true", 6)
    peak = 0
    for _ in range(2000):
        if len(service.results) == 6:
            break
        node.lease_once(wait=0)
        node.step(0.05)
        node.report_once()
        peak = max(peak, len(node.ledger.running))
    assert len(service.results) == 6 and peak == 1  # the host keeps one of the two slots
