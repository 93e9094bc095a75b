"""The service host process, spoken to over its pipes exactly as the node agent does (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpcburst.soa import codec, framing
from hpcburst.soa.framing import K_CALLS, K_DATA, K_FAILED, K_READY, K_RESULTS, K_STOP, K_WANT_DATA

SERVICES = Path(__file__).parent  # holds the ``services`` package, as a node's package directory would


class HostPipe:
    """One host process and its two pipes."""

    def __init__(self, module: str, max_concurrent: int = 1, env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "PYTHONPATH": str(SERVICES), "CCP_SERVICENAME": "calc",
                       "HPC_SESSIONID": "s-1", **(env or {})}  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "hpcburst.soa.host",
                "--module",
                module,
                "--max-concurrent",
                str(max_concurrent),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.reader = framing.FrameReader(self.proc.stdout.fileno())
        self.frames: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(framing.encode(message))
        self.proc.stdin.flush()

    def next(self) -> dict[str, Any]:
        while not self.frames:
            self.frames = self.reader.read()
            if not self.frames:
                raise EOFError("the host ended")
        return self.frames.pop(0)

    def results(self, count: int) -> dict[int, list[Any]]:
        got: dict[int, list[Any]] = {}
        while len(got) < count:
            for result in self.next()[K_RESULTS]:
                got[result[0]] = result
        return got

    def call(self, op: str, *args: Any, codec_name: codec.Codec = "json", **kwargs: Any) -> list[Any]:
        self.send({K_CALLS: [[1, op, codec.encode_call(args, kwargs, codec_name)]]})
        return self.results(1)[1]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


@pytest.fixture
def host() -> Iterator[HostPipe]:
    pipe = HostPipe("services.calc")
    assert pipe.next() == {K_READY: True}
    yield pipe
    pipe.close()


def test_a_host_imports_its_module_says_ready_and_answers_a_batch_in_order(host: HostPipe) -> None:
    calls = [[n, "Add", codec.encode_call((n, 1), {})] for n in range(500)]
    host.send({K_CALLS: calls})
    results = host.results(500)
    assert all(results[n] == [n, True, n + 1, None, False] for n in range(500))


def test_json_and_pickle_calls_are_answered_in_the_codec_they_came_in(host: HostPipe) -> None:
    assert host.call("echo", {"a": [1, 2]}) == [1, True, {"a": [1, 2]}, None, False]
    assert host.call("Add", 2, b=3)[2] == 5
    value = host.call("echo", {1, 2, 3}, codec_name="pickle")[2]
    assert set(value) == {"pickle"} and codec.decode_value(value, "pickle") == {1, 2, 3}


def test_the_sessions_ids_are_in_the_environment_and_on_start_ran_once(host: HostPipe) -> None:
    assert host.call("env", "CCP_SERVICENAME")[2] == "calc"
    assert host.call("env", "HPC_SESSIONID")[2] == "s-1"
    assert host.call("started_for")[2] == ["s-1"]


def test_exceptions_become_faults_with_type_message_and_traceback(host: HostPipe) -> None:
    key, ok, value, fault, retry = host.call("fail", "bad input")
    assert (ok, value, retry) == (False, None, False)
    assert fault["type"] == "ValueError" and fault["message"] == "bad input"
    assert "raise ValueError(message)" in fault["traceback"]


def test_retry_operation_asks_for_a_retry(host: HostPipe) -> None:
    key, ok, value, fault, retry = host.call("retry_me")
    assert (ok, retry, fault["type"], fault["message"]) == (False, True, "RetryOperation", "not on this host")


def test_an_unknown_operation_is_a_fault_naming_the_ones_there_are(host: HostPipe) -> None:
    key, ok, value, fault, retry = host.call("nope")
    assert not ok and not retry and fault["type"] == "UnknownOperation"
    assert "'nope'" in fault["message"] and "Add" in fault["message"]


def test_a_value_json_cannot_carry_is_a_fault_and_the_rest_of_the_batch_gets_through(host: HostPipe) -> None:
    host.send({K_CALLS: [[1, "unjsonable", {"args": []}], [2, "echo", codec.encode_call((7,), {})]]})
    results = host.results(2)
    assert results[1][1] is False and "pickle" in results[1][3]["message"]
    assert results[2] == [2, True, 7, None, False]


def test_user_prints_go_to_stderr_and_never_into_the_protocol(host: HostPipe) -> None:
    assert host.call("chatty", 3) == [1, True, 3, None, False]
    assert host.call("echo", "after")[2] == "after"
    host.send({K_STOP: True})
    assert host.proc.wait() == 0
    assert host.proc.stderr is not None
    err = host.proc.stderr.read()
    assert b"hello from user code 3" in err and b"raw bytes to fd 1" in err


def test_stop_finishes_the_calls_received_then_exits(host: HostPipe) -> None:
    host.send({K_CALLS: [[n, "sleep", codec.encode_call((0.01,), {})] for n in range(5)]})
    host.send({K_STOP: True})
    assert set(host.results(5)) == set(range(5))
    assert host.proc.wait() == 0


def test_max_concurrent_runs_calls_at_once_and_stop_waits_for_them() -> None:
    pipe = HostPipe("services.calc", max_concurrent=4)
    try:
        assert pipe.next() == {K_READY: True}
        pipe.send({K_CALLS: [[n, "overlap", codec.encode_call((0.2,), {})] for n in range(8)]})
        pipe.send({K_STOP: True})
        results = pipe.results(8)
        assert max(r[2] for r in results.values()) > 1  # not one at a time
        assert max(r[2] for r in results.values()) <= 4
        assert pipe.proc.wait() == 0
    finally:
        pipe.close()


def test_common_data_is_asked_of_the_agent_once_and_read_from_the_path_it_names(
    host: HostPipe, tmp_path: Path
) -> None:
    (tmp_path / "table").write_bytes(b"shared rows")
    host.send({K_CALLS: [[1, "data", codec.encode_call(("table",), {})]]})
    assert host.next() == {K_WANT_DATA: "table"}
    host.send({K_DATA: {"name": "table", "path": str(tmp_path / "table")}})
    assert host.results(1)[1][2] == "shared rows"
    host.send({K_CALLS: [[2, "data", codec.encode_call(("gone",), {})]]})
    assert host.next() == {K_WANT_DATA: "gone"}
    host.send({K_DATA: {"name": "gone", "error": "session s-1 has no common data 'gone'"}})
    fault = host.results(1)[2][3]
    assert fault["type"] == "NotFound" and "'gone'" in fault["message"]


def test_a_module_that_fails_to_import_says_why_and_exits() -> None:
    pipe = HostPipe("services.broken")
    try:
        failed = pipe.next()
        assert failed[K_FAILED] == "ImportError: the solver library is missing"
        assert "services/broken.py" in failed["traceback"]
        assert pipe.proc.wait() == 1
    finally:
        pipe.close()


def test_a_module_with_no_service_says_so() -> None:
    pipe = HostPipe("services")
    try:
        assert "no module-level Service" in pipe.next()[K_FAILED]
    finally:
        pipe.close()


def test_a_host_whose_agent_goes_away_exits(host: HostPipe) -> None:
    assert host.proc.stdin is not None
    host.proc.stdin.close()
    assert host.proc.wait() == 0
    host.proc.stdin = None


def test_a_host_answers_ten_thousand_noop_calls_in_batches(host: HostPipe) -> None:
    noop = codec.encode_call((), {})
    batches = [[[n, "noop", noop] for n in range(start, start + 1000)] for start in range(0, 10_000, 1000)]
    # written from a thread, as the agent does: a host answering fills its pipe while more calls arrive
    writer = threading.Thread(target=lambda: [host.send({K_CALLS: batch}) for batch in batches])
    writer.start()
    assert len(host.results(10_000)) == 10_000
    writer.join()
