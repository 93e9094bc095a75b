"""The service host process: ``python -m hpcburst.soa.host --module MOD [--max-concurrent N]``.

Started by the node agent (``nodeagent.soa``) with ``CCP_SERVICENAME`` and ``HPC_SESSIONID`` set, as HPC
Pack's service hosts were. It imports the module once, finds its module-level ``Service``, runs the
``on_start`` hooks, says ready, then serves batches of calls over stdin/stdout (``hpcburst.soa.framing``).

The protocol owns the pipe: before the author's code is imported, the real stdout is moved to a private
descriptor and fd 1 (and ``sys.stdout``) point at stderr, so a ``print`` cannot corrupt a frame; stdin is
taken the same way and fd 0 becomes /dev/null.

With ``max_concurrent`` 1 calls run in the reading thread (no hand-offs); with more, that many worker threads
take calls from a queue and one writer thread sends their results, a batch per wake-up.
"""

from __future__ import annotations

import argparse
import importlib
import os
import queue
import sys
import threading
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any

from hpcburst.soa import codec, framing
from hpcburst.soa.framing import K_CALLS, K_DATA, K_FAILED, K_READY, K_RESULTS, K_STOP, K_WANT_DATA
from hpcburst.soa.service import RetryOperation, Service, install_data_source

TRACEBACK_LIMIT = 4000  # characters of a fault's traceback kept (its end: where it was raised)
FLUSH_AFTER = 0.005  # seconds a finished result may wait for the rest of its batch (inline mode)

Result = list[Any]  # [key, ok, value, fault, retry]


def fault(kind: str, message: str, tb: str | None = None) -> dict[str, Any]:
    return {"type": kind, "message": message, "traceback": tb[-TRACEBACK_LIMIT:] if tb else None}


class Host:
    def __init__(self, service: Service, reader: framing.FrameReader, out_fd: int) -> None:
        self.service, self.reader, self.out_fd = service, reader, out_fd
        self._write_lock = threading.Lock()
        self._main = threading.get_ident()
        self._stashed: deque[dict[str, Any]] = deque()  # frames read while the main thread awaited data
        self._data: dict[str, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._data_lock = threading.Lock()

    # --- calls ---
    def call(self, key: Any, op: str, payload: Any) -> Result:
        fn = self.service.operations.get(op)
        if fn is None:
            known = ", ".join(sorted(self.service.operations)) or "none"
            message = f"service {self.service.name!r} has no operation {op!r} (it has: {known})"
            return [key, False, None, fault("UnknownOperation", message), False]
        try:
            args, kwargs, kind = codec.decode_call(payload)
            return [key, True, codec.encode_value(fn(*args, **kwargs), kind), None, False]
        except RetryOperation as e:
            return [key, False, None, fault("RetryOperation", str(e)), True]
        except Exception as e:  # noqa: BLE001 - the author's exception is the caller's fault to read
            return [key, False, None, fault(type(e).__name__, str(e), traceback.format_exc()), False]

    def send(self, message: dict[str, Any]) -> None:
        data = framing.encode(message)
        with self._write_lock:
            framing.write_all(self.out_fd, data)

    def send_results(self, results: list[Result]) -> None:
        try:
            self.send({K_RESULTS: results})
        except (TypeError, ValueError):  # some value is not JSON: fault those, send the rest
            self.send({K_RESULTS: [_serializable(r) for r in results]})

    # --- common data ---
    def data_path(self, name: str) -> Path:
        """Ask the agent for ``name``'s local path (blocks until it answers)."""
        with self._data_lock:
            waiting = self._data.get(name)
            if waiting is None:
                waiting = self._data[name] = (threading.Event(), [])
                self.send({K_WANT_DATA: name})
        event, answer = waiting
        while not event.is_set():
            if threading.get_ident() != self._main:
                event.wait()
                break
            frames = self.reader.read()  # the reading thread itself waits: keep what else arrives
            if not frames:
                raise EOFError("the node agent went away")
            for frame in frames:
                if K_DATA in frame:
                    self.on_data(frame[K_DATA])
                else:
                    self._stashed.append(frame)
        with self._data_lock:
            self._data.pop(name, None)
        reply = answer[0]
        if reply.get("error") or not reply.get("path"):
            from hpcburst.errors import NotFound

            raise NotFound(str(reply.get("error") or f"no common data {name!r}"))
        return Path(reply["path"])

    def on_data(self, reply: dict[str, Any]) -> None:
        with self._data_lock:
            waiting = self._data.get(str(reply.get("name")))
        if waiting is not None:
            waiting[1].append(reply)
            waiting[0].set()

    # --- serving ---
    def frames(self) -> list[dict[str, Any]]:
        if self._stashed:
            stashed = list(self._stashed)
            self._stashed.clear()
            return stashed
        return self.reader.read()

    def serve_inline(self) -> None:
        """max_concurrent 1: run each call in this thread; answer a read batch with one frame."""
        while True:
            frames = self.frames()
            if not frames:
                return
            results: list[Result] = []
            first_done = 0.0
            for frame in frames:
                if K_DATA in frame:
                    self.on_data(frame[K_DATA])
                for key, op, payload in frame.get(K_CALLS, ()):
                    results.append(self.call(key, op, payload))
                    now = time.monotonic()
                    if len(results) == 1:
                        first_done = now
                    elif now - first_done > FLUSH_AFTER:  # slow calls: do not hold finished ones back
                        self.send_results(results)
                        results = []
                if K_STOP in frame:
                    if results:
                        self.send_results(results)
                    return
            if results:
                self.send_results(results)

    def serve_threaded(self, workers: int) -> None:
        """Up to ``workers`` calls at once; one writer thread sends what finished, a batch per wake-up."""
        pool = _Workers(self, workers)
        stopping = False
        while not stopping:
            frames = self.frames()
            stopping = not frames
            for frame in frames:
                if K_DATA in frame:
                    self.on_data(frame[K_DATA])
                for item in frame.get(K_CALLS, ()):
                    pool.calls.put(item)
                stopping = stopping or K_STOP in frame
        pool.finish()


class _Workers:
    """Worker threads taking calls from a queue, and the writer thread sending their results."""

    def __init__(self, host: Host, count: int) -> None:
        self.host = host
        self.calls: queue.SimpleQueue[list[Any] | None] = queue.SimpleQueue()
        self._done: list[Result] = []
        self._ready = threading.Condition()
        self._running = count
        self._threads = [
            threading.Thread(target=self._work, name=f"call-{n}", daemon=True) for n in range(count)
        ]
        self._writer = threading.Thread(target=self._write, name="results", daemon=True)
        for thread in [*self._threads, self._writer]:
            thread.start()

    def finish(self) -> None:
        """Run what was queued, send every result, and end the threads."""
        for _ in self._threads:
            self.calls.put(None)
        for thread in [*self._threads, self._writer]:
            thread.join()

    def _work(self) -> None:
        while (item := self.calls.get()) is not None:
            result = self.host.call(*item)
            with self._ready:
                self._done.append(result)
                if len(self._done) == 1:
                    self._ready.notify()
        with self._ready:
            self._running -= 1
            self._ready.notify()

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._done and self._running:
                    self._ready.wait()
                batch, self._done = self._done, []
                if not batch and not self._running:
                    return
            self.host.send_results(batch)


def find_service(module: Any, name: str | None) -> Service:
    found = [v for v in vars(module).values() if isinstance(v, Service)]
    if name and len(found) > 1:
        found = [s for s in found if s.name == name] or found
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise LookupError(
            f"module {module.__name__} has {what} module-level Service instances (one expected)"
        )
    return found[0]


def _serializable(result: Result) -> Result:
    try:
        framing.encode({"v": result[2]})
        return result
    except (TypeError, ValueError) as e:
        message = (
            f"the operation's value cannot be sent as JSON ({e}); return JSON values or call with pickle"
        )
        return [result[0], False, None, fault(type(e).__name__, message), False]


def _take_pipes() -> tuple[int, int]:
    """(in, out) descriptors of the protocol; fd 0 becomes /dev/null and fd 1 stderr, for the author's code."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto_in, proto_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpcburst.soa.host")
    parser.add_argument("--module", required=True)
    parser.add_argument("--max-concurrent", type=int, default=1)
    args = parser.parse_args(argv)
    proto_in, proto_out = _take_pipes()
    reader = framing.FrameReader(proto_in)
    try:
        module = importlib.import_module(args.module)
        service = find_service(module, os.environ.get("CCP_SERVICENAME"))
        host = Host(service, reader, proto_out)
        install_data_source(host.data_path)
        for hook in service.start_hooks:
            hook()
    except BaseException as e:  # noqa: BLE001 - any failure to start is reported, then the host exits
        text = traceback.format_exc()
        sys.stderr.write(text)
        line = f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__
        framing.write_all(proto_out, framing.encode({K_FAILED: line, "traceback": text[-TRACEBACK_LIMIT:]}))
        return 1
    host.send({K_READY: True})
    if args.max_concurrent <= 1:
        host.serve_inline()
    else:
        host.serve_threaded(args.max_concurrent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
