"""The client SDK's own cost per request, against a broker that does next to nothing (not a test).

    .venv/bin/python tests/soa/client/bench_client.py [N]

Prints the client's CPU per request (the null broker's own CPU subtracted), throughput, the round trip at
1,000 req/s offered (linger 2 ms, long-polls answered at once) and the memory of N requests in flight.
The goals (issue 11): well under 30 µs of client CPU per request; p50 ≤ 10 ms; ≤ 500 B per request.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
import tracemalloc
from typing import Any

import httpx

from hpcburst import soa
from hpcburst.domain.soa.models import SessionView
from hpcburst.soa.client import Client

VIEW = SessionView(id="1", service="echo", owner="me", state="Active", durable=False, priority="Normal",
                   pool="default", created_at=0, min_units=1, max_units=None, client_idle_timeout=60,
                   session_idle_timeout=60, response_ttl=60).model_dump(mode="json")  # fmt: skip


class NullBroker:
    """Echoes every request at once; holds nothing but the responses not yet polled (or nothing: ``hold``)."""

    def __init__(self, answer: bool = True) -> None:
        self.answer, self.ready, self.cpu = answer, [], 0.0
        self.changed = threading.Condition()
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        start, path = time.thread_time(), request.url.path
        if path.endswith("/requests"):
            items = json.loads(request.content)["requests"]
            if self.answer:
                with self.changed:
                    self.ready.extend(
                        {"id": r["id"], "ok": True, "value": r["payload"]["args"][0]} for r in items
                    )
                    self.changed.notify_all()
            body: Any = {"accepted": len(items), "duplicates": 0}
        elif path.endswith("/responses"):
            wait = json.loads(request.content)["wait"]
            with self.changed:
                if not self.ready and wait:
                    self.changed.wait(wait)
                out, self.ready = self.ready, []
            body = {"responses": out, "outstanding": 0, "state": "Active"}
        else:
            body = VIEW
        response = httpx.Response(
            200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        self.cpu += time.thread_time() - start
        return response


def connect(broker: NullBroker) -> Client:
    return soa.connect("http://null.broker", "token", transport=broker.transport)


def throughput(n: int) -> None:
    broker, payload = NullBroker(), "x" * 64
    with connect(broker) as client:
        session = client.create_session(service="echo")
        wall, cpu = time.perf_counter(), time.process_time()
        with session.executor() as ex:
            futures = [ex.submit("echo", payload) for _ in range(n)]
            for future in soa.as_completed(futures):
                future.result()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{n} requests: {n / wall:,.0f} req/s; client CPU {1e6 * (cpu - broker.cpu) / n:.1f} µs/request "
          f"(null broker {1e6 * broker.cpu / n:.1f} µs/request)")  # fmt: skip


def round_trip(rate: float = 1000.0, n: int = 3000) -> None:
    broker, latencies = NullBroker(), []
    with connect(broker) as client:
        session = client.create_session(service="echo")
        with session.executor() as ex:
            start = time.perf_counter()
            for i in range(n):
                while time.perf_counter() < start + i / rate:
                    time.sleep(0.0002)
                sent = time.perf_counter()
                ex.submit("echo", i).add_done_callback(
                    lambda f, t=sent: latencies.append(time.perf_counter() - t)
                )
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"round trip at {rate:.0f} req/s offered: p50 {1000 * p50:.2f} ms, p99 {1000 * p99:.2f} ms")


def memory(n: int) -> None:
    broker = NullBroker(answer=False)
    with connect(broker) as client:
        session = client.create_session(service="echo")
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        ex = session.executor(batch_size=1000)
        futures = [ex.submit("echo", "x" * 64) for _ in range(n)]
        while ex._flight.in_broker() < n:
            time.sleep(0.01)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        print(
            f"{n} requests in flight: {used / n:.0f} B each, {used / 2**20:.0f} MiB in all (futures list included)"
        )
        ex.shutdown(wait=False, cancel_futures=True)
        del futures


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    throughput(count)
    round_trip()
    memory(count)
