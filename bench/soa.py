"""SOA sessions on the real runtime: throughput, round trips, first response and client memory.

A local cluster (the runtime, Azurite, one agent x 2 slots: hosts, broker, client all on this machine) serves the
example service (examples/soa/service, deployed as a package). Each figure is printed beside its goal, the figure
Microsoft published for its open-sourced broker (Telepathy: 1 DS5v2 broker + 15 D4s_v3 nodes) and a baseline
measured in the same run on this machine:

- throughput: 100k no-op requests of 64 bytes, submit → every result; baseline: a ProcessPoolExecutor with as many
  workers as the node has slots doing the same no-op, one submit (one future) per request;
- round trip at 1,000 req/s offered: submit → result of each request, p50/p99; baseline: the same pacing into the
  ProcessPoolExecutor;
- first response: create_session → the first result, with the node up but no host yet; baseline: a new
  ProcessPoolExecutor → its first result;
- client memory: this process's RSS growth with 1,000,000 requests in flight (a session on a pool with no node, so
  nothing is answered); baseline: 1,000,000 stock concurrent.futures.Future objects.

Run: ``.venv/bin/python bench/soa.py [--requests 100000] [--in-flight 1000000] [--rate 1000]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hpcburst import constants as c  # noqa: E402
from hpcburst import soa  # noqa: E402
from hpcburst.client.local_cluster import LocalCluster  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "hpcburst")
PAYLOAD = "x" * 64
SLOTS = 2
TELEPATHY = {"interactive": (15_653, 98.6), "durable": (752, 1_435.0)}  # req/s, warm latency ms


def noop(value: Any) -> Any:
    return value


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def paced(submit: Callable[[int], cf.Future[Any]], count: int, rate: float) -> list[float]:
    """Submit ``count`` requests at ``rate`` per second; each one's submit → result, in ms."""
    latencies: list[float] = []
    futures = []
    began = time.perf_counter()
    for k in range(count):
        due = began + k / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(0.0005, due - now))
        sent = time.perf_counter()
        future = submit(k)
        future.add_done_callback(lambda _, sent=sent: latencies.append((time.perf_counter() - sent) * 1000))
        futures.append(future)
    cf.wait(futures)
    return latencies


class Bench:
    def __init__(self, cluster: LocalCluster, args: argparse.Namespace) -> None:
        self.cluster, self.args = cluster, args

    def session(self, durable: bool, pool: str = "default", **more: Any) -> Any:
        fields = {"min_units": SLOTS, **more}
        info = soa.SessionStartInfo(service="echo", durable=durable, pool=pool, **fields)
        return self.client.create_session(info)

    def throughput(self, durable: bool) -> float:
        session = self.session(durable)
        try:
            with session.executor() as ex:  # warm: hosts started and imported
                ex.submit("echo", PAYLOAD).result(timeout=60)
            began = time.perf_counter()
            with session.executor() as ex:
                futures = [ex.submit("echo", PAYLOAD) for _ in range(self.args.requests)]
                for future in cf.as_completed(futures):
                    assert future.result() == PAYLOAD
            return self.args.requests / (time.perf_counter() - began)
        finally:
            session.close(purge=True)

    def round_trips(self, durable: bool) -> list[float]:
        session = self.session(durable)
        try:
            with session.executor() as ex:
                ex.submit("echo", PAYLOAD).result(timeout=60)
                return paced(lambda _: ex.submit("echo", PAYLOAD), self.args.paced, self.args.rate)
        finally:
            session.close(purge=True)

    def first_response(self) -> float:
        began = time.perf_counter()
        session = self.session(durable=False, min_units=1)
        try:
            with session.executor() as ex:
                ex.submit("echo", PAYLOAD).result(timeout=60)
            return time.perf_counter() - began
        finally:
            session.close(purge=True)

    def memory_in_flight(self) -> float:
        """RSS growth (MB) with --in-flight requests accepted by the broker and none answered."""
        gc.collect()
        before = rss_mb()
        session = self.session(durable=False, pool="idle", min_units=0)
        ex = session.executor()
        futures = [ex.submit("echo", PAYLOAD) for _ in range(self.args.in_flight)]
        status = session.status()
        deadline = time.monotonic() + 300
        while status.counts.submitted < self.args.in_flight and time.monotonic() < deadline:
            time.sleep(0.5)
            status = session.status()
        grown = rss_mb() - before
        assert not any(f.done() for f in futures[:1000])
        ex.shutdown(wait=False, cancel_futures=True)
        session.close(purge=True)
        del futures
        return grown


def baselines(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    began = time.perf_counter()
    with cf.ProcessPoolExecutor(SLOTS) as pool:
        pool.submit(noop, PAYLOAD).result()
        out["first"] = time.perf_counter() - began
        began = time.perf_counter()  # one future per request, as the SOA executor gives
        futures = [pool.submit(noop, PAYLOAD) for _ in range(args.requests)]
        assert all(f.result() == PAYLOAD for f in cf.as_completed(futures))
        out["throughput"] = args.requests / (time.perf_counter() - began)
        out["latency"] = paced(lambda _: pool.submit(noop, PAYLOAD), args.paced, args.rate)
    gc.collect()
    before = rss_mb()
    futures = [cf.Future() for _ in range(args.in_flight)]  # type: ignore[var-annotated]
    out["memory"] = rss_mb() - before
    del futures
    gc.collect()
    return out


def deploy_service(cluster: LocalCluster) -> None:
    env = {**cluster.env(), c.ENV_TOKEN: cluster.admin_token}
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "soa-example.zip"
        run = {"env": env, "check": True, "capture_output": True}
        subprocess.run(
            [CLI, "pkg", "create", "soa-example", str(ROOT / "examples/soa/service"), "-o", str(archive)],
            **run,
        )  # type: ignore[call-overload]
        subprocess.run([CLI, "pkg", "upload", "soa-example", "--zip", str(archive)], **run)  # type: ignore[call-overload]
    subprocess.run(
        [CLI, "service", "register", "echo", "--module", "pi_service", "--package", "soa-example"],
        env=env,
        check=True,
    )
    subprocess.run([CLI, "pool", "create", "idle"], env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100_000, help="requests per throughput run")
    parser.add_argument("--paced", type=int, default=5_000, help="requests per round-trip run")
    parser.add_argument(
        "--rate", type=float, default=1_000.0, help="offered requests per second (round trips)"
    )
    parser.add_argument("--in-flight", type=int, default=1_000_000, help="requests in flight (client memory)")
    args = parser.parse_args()
    base = baselines(args)
    with tempfile.TemporaryDirectory(prefix="hpcburst-bench-soa-") as tmp:
        Path(tmp).chmod(0o711)
        cluster = LocalCluster(Path(tmp), env={c.ENV_HEARTBEAT_INTERVAL: "0.5"})
        cluster.start(agents=1, slots=SLOTS)
        try:
            deploy_service(cluster)
            with soa.connect(cluster.url, token=cluster.admin_token) as client:
                bench = Bench(cluster, args)
                bench.client = client  # type: ignore[attr-defined]
                report(bench, base, args)
        finally:
            cluster.stop()


def report(bench: Bench, base: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"this machine: {os.cpu_count()} cores; client, runtime, agent (1 x {SLOTS} slots) and hosts all local\n"
    )
    for kind, goal in (("interactive", 10_000), ("durable", 5_000)):
        rate = bench.throughput(durable=kind == "durable")
        verdict = "ok" if rate >= goal else "MISS"
        print(
            f"{kind} throughput, {args.requests:,} no-op 64-byte requests: {rate:,.0f} req/s   goal ≥ {goal:,}: {verdict}"
        )
        print(
            f"  Telepathy (16 machines): {TELEPATHY[kind][0]:,} req/s; baseline ProcessPoolExecutor({SLOTS}) "
            f"submit: {base['throughput']:,.0f} req/s, ratio {rate / base['throughput']:.2f}"
        )
    p50b, p99b = percentile(base["latency"], 0.5), percentile(base["latency"], 0.99)
    for kind, goal50, goal99 in (("interactive", 10.0, 50.0), ("durable", 50.0, None)):
        ms = bench.round_trips(durable=kind == "durable")
        p50, p99 = percentile(ms, 0.5), percentile(ms, 0.99)
        ok = p50 <= goal50 and (goal99 is None or p99 <= goal99)
        goal = f"p50 ≤ {goal50:g} ms" + (f", p99 ≤ {goal99:g} ms" if goal99 else "")
        print(
            f"{kind} round trip at {args.rate:,.0f} req/s offered: p50 {p50:.1f} ms, p99 {p99:.1f} ms   "
            f"goal {goal}: {'ok' if ok else 'MISS'}"
        )
        print(
            f"  Telepathy warm latency: {TELEPATHY[kind][1]:,} ms; baseline ProcessPoolExecutor: p50 {p50b:.2f} ms, "
            f"p99 {p99b:.2f} ms, p50 ratio {p50 / p50b:.1f}"
        )
    first = bench.first_response()
    print(
        f"first response of a new session (node up): {first:.2f} s   goal ≤ 2 s: {'ok' if first <= 2 else 'MISS'}"
    )
    print(
        f"  baseline: a new ProcessPoolExecutor({SLOTS}) → first result: {base['first']:.2f} s, "
        f"ratio {first / base['first']:.1f}"
    )
    grown = bench.memory_in_flight()
    print(
        f"client memory, {args.in_flight:,} requests in flight: +{grown:,.0f} MB RSS   goal ≤ 500 MB: "
        f"{'ok' if grown <= 500 else 'MISS'}"
    )
    print(
        f"  baseline: {args.in_flight:,} stock concurrent.futures.Future objects: +{base['memory']:,.0f} MB"
    )


if __name__ == "__main__":
    main()
