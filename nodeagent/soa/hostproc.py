"""One service host process: spawned with pipes, a reader and a writer thread, and the calls it holds.

Calls get an int key on the way in; the host answers by key (``hpcburst.soa.framing``). The reader thread
turns each results frame into ``HostResponse``s in one go and hands them to ``on_results``; the writer
thread writes queued frames, so a host busy with a long call never blocks the thread that dispatches.

A call counts as running from the first tick that sees it among the host's oldest ``max_concurrent``
(the host takes calls in order), so a prefetched call's operation timeout starts when it can run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from hpcburst.domain.soa.protocol import Fault, HostRequest, HostResponse, HostStart
from hpcburst.soa import framing
from hpcburst.soa.framing import K_CALLS, K_DATA, K_FAILED, K_READY, K_RESULTS, K_STOP, K_WANT_DATA

PREFETCH_SECONDS = (
    0.02  # calls queued on a host beyond its running ones: this long of its work (~10 round trips)
)
MAX_PREFETCH = 2000
RATE_WINDOW = 0.1  # seconds over which a host's call rate is measured


@dataclass(slots=True)
class Call:
    client_id: str
    id: str
    attempt: int
    started: float | None = None  # monotonic, when it could first run (see the module's docstring)


Results = Callable[["HostProcess", list[HostResponse]], None]
DataAsk = Callable[["HostProcess", str], dict[str, Any]]
Ended = Callable[["HostProcess", str], None]


class HostProcess:
    def __init__(
        self, start: HostStart, node: str, on_results: Results, on_data: DataAsk, on_end: Ended
    ) -> None:
        self.start, self.node = start, node
        self.name = start.host
        self._on_results, self._on_data, self._on_end = on_results, on_data, on_end
        self.ready = False
        self.stopping = False
        self.reason: str | None = None  # why it ends, when the agent decided it (timeouts, init failure)
        self.late: list[int] = []  # keys of the calls that ran past the operation timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.began = time.monotonic()
        self.lock = threading.Lock()  # calls, the outgoing queue
        self.calls: dict[int, Call] = {}
        self._next_key = 0
        self._outgoing: deque[bytes] = deque()
        self._gone = False  # its pipe closed: the writer thread ends too
        self._wake = threading.Condition(self.lock)
        self._done_in_window, self._window_start, self.rate = 0, self.began, 0.0
        self.log_path: str | None = None

    # --- lifecycle ---
    def spawn(self, argv: Sequence[str], env: Mapping[str, str], cwd: str, log_path: str) -> None:
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - the registered service's host, as its owner's account
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=dict(env), cwd=cwd,
                start_new_session=True, close_fds=True,
            )  # fmt: skip
        for target, what in ((self._read, "read"), (self._write, "write")):
            threading.Thread(target=target, name=f"soa-{what}-{self.name}", daemon=True).start()

    def stop(self) -> None:
        """Finish the calls already sent, then exit (ended "stopped")."""
        with self.lock:
            if not self.stopping:
                self.stopping = True
                self._queue(framing.encode({K_STOP: True}))

    def kill(self, reason: str) -> None:
        """End it now; its calls come back as retries when its pipe closes."""
        if self.reason is None:
            self.reason = reason
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    # --- calls ---
    def send(self, requests: list[HostRequest]) -> None:
        with self.lock:
            batch = []
            for r in requests:
                key = self._next_key = self._next_key + 1
                self.calls[key] = Call(r.client_id, r.id, r.attempt)
                batch.append([key, r.op, r.payload])
            self._queue(framing.encode({K_CALLS: batch}))

    def want(self) -> int:
        """Requests it can take now: its running room plus a prefetch that keeps it busy over a round trip."""
        if not self.ready or self.stopping or self.reason:
            return 0
        now = time.monotonic()
        with self.lock:
            elapsed = now - self._window_start
            if elapsed >= RATE_WINDOW:
                self.rate = 0.5 * self.rate + 0.5 * self._done_in_window / elapsed
                self._done_in_window, self._window_start = 0, now
            held = len(self.calls)
        depth = self.start.max_concurrent + min(MAX_PREFETCH, max(1, int(self.rate * PREFETCH_SECONDS)))
        return max(0, depth - held)

    def overdue(self, now: float) -> list[int]:
        """Keys of running calls past the operation timeout (marks calls that may now run as started)."""
        limit = self.start.operation_timeout
        late = []
        with self.lock:
            for key, call in islice(self.calls.items(), self.start.max_concurrent):
                if call.started is None:
                    call.started = now
                elif now - call.started > limit:
                    late.append(key)
        return late

    def take_calls(self, late: Sequence[int] = ()) -> list[HostResponse]:
        """Every call it holds, as retries (it ended): ``late`` ones as "OperationTimeout", the rest "HostDied"."""
        with self.lock:
            calls, self.calls = self.calls, {}
        out = []
        for key, call in calls.items():
            kind, why = (
                ("OperationTimeout", f"ran past the operation timeout ({self.start.operation_timeout:g}s)")
                if key in late
                else ("HostDied", f"host {self.name} ended: {self.reason or 'it exited'}")
            )
            fault = Fault(type=kind, message=why, attempts=call.attempt, node=self.node)
            out.append(self._response(call, False, None, fault, True))
        return out

    # --- threads ---
    def _queue(self, frame: bytes) -> None:
        self._outgoing.append(frame)
        self._wake.notify()

    def _write(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        stdin = self.proc.stdin
        try:
            self._write_frames(stdin.fileno())
        finally:
            stdin.close()  # after a stop frame: the host's end of file

    def _write_frames(self, fd: int) -> None:
        stop = framing.encode({K_STOP: True})
        while True:
            with self.lock:
                while not self._outgoing and not self._gone:
                    self._wake.wait()
                if self._gone:
                    return
                frames = b"".join(self._outgoing)
                self._outgoing.clear()
            try:
                framing.write_all(fd, frames)
            except OSError:
                return  # it died: the reader sees the end
            if frames.endswith(stop):
                return

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        reader = framing.FrameReader(self.proc.stdout.fileno())
        try:
            while frames := reader.read():
                for frame in frames:
                    self._on_frame(frame)
        except framing.FrameError as e:
            self.kill(f"protocol error: {e}")
        except OSError:
            pass
        code = self.proc.wait()
        self.proc.stdout.close()
        with self.lock:
            self._gone = True
            self._wake.notify()
        self._on_end(self, self._ended_reason(code))

    def _on_frame(self, frame: dict[str, Any]) -> None:
        if K_RESULTS in frame:
            self._on_results(self, self._responses(frame[K_RESULTS]))
        elif K_READY in frame:
            self.ready = True
            self._on_results(self, [])  # a state change: the poll loop says so at once
        elif K_WANT_DATA in frame:
            reply = self._on_data(self, str(frame[K_WANT_DATA]))
            with self.lock:
                self._queue(framing.encode({K_DATA: reply}))
        elif K_FAILED in frame:
            self.reason = f"init failed: {frame[K_FAILED]}"

    def _responses(self, results: list[list[Any]]) -> list[HostResponse]:
        out = []
        with self.lock:
            calls = self.calls
            for key, ok, value, fault, retry in results:
                call = calls.pop(key, None)
                if call is None:
                    continue  # already given up on (timed out)
                out.append((call, ok, value, fault, retry))
            self._done_in_window += len(out)
        return [
            self._response(call, ok, value, None if not fault else Fault(attempts=call.attempt, node=self.node, **fault), retry)
            for call, ok, value, fault, retry in out
        ]  # fmt: skip

    def _response(self, call: Call, ok: bool, value: Any, fault: Fault | None, retry: bool) -> HostResponse:
        return HostResponse.model_construct(
            host=self.name, client_id=call.client_id, id=call.id, attempt=call.attempt, ok=ok, value=value,
            fault=fault, retry=retry,
        )  # fmt: skip

    def _ended_reason(self, code: int) -> str:
        if self.reason:
            return self.reason
        if self.stopping and code == 0:
            return "stopped"
        if not self.ready:
            line = self._last_log_line() or _exit_text(code)
            if "failed to execute" in line:  # setpriv could not run the interpreter as the host's account
                line += " (set HPCBURST_SOA_PYTHON to a Python the service's account can run)"
            return f"init failed: {line}"
        return f"died: {_exit_text(code)}"

    def _last_log_line(self) -> str | None:
        try:
            with open(self.log_path or "", "rb") as log:
                log.seek(max(0, os.fstat(log.fileno()).st_size - 4096))
                lines = [ln for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return None
        return lines[-1].strip() if lines else None


def _exit_text(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit {code}"
