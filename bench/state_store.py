"""Task-state updates per second on each state store: SQLite file vs the Cosmos server, single vs batched.

An update is what a task report does: replace one task document with its new state, guarded by the
etag read before (compare-and-set). "single" sends one replace per update; "batched" sends
transactional batches of 100 replaces to one job partition. The Cosmos server is started here
(hpcburst.emulators) and stopped at the end, once with HTTP keep-alive (as Cosmos DB serves) and
once as its npm CLI runs it (Connection: close). It is an in-memory Node.js emulator, so its
figures say what the adapter costs through HTTP + the SDK, not what Cosmos DB's RU budget allows.

Then the Cosmos cost of a sweep (issue 13; goal <= 3 operations per index): a local cluster (devhost, 2 agents
x 2 slots) on the Cosmos server runs a sweep of `true`, and the server counts the operations it is sent, by
kind (bench/cosmos_ops.py), with the request units they would cost in Cosmos DB; the same sweep on SQLite
is timed beside it.

    python bench/state_store.py [--seconds 3] [--sweep 10000]   # --sweep 0: skip the sweep
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cosmos_ops import per_index, start_counting_cosmos  # noqa: E402

from hpcburst import constants as c  # noqa: E402
from hpcburst.client import Scheduler  # noqa: E402
from hpcburst.client.local_cluster import LocalCluster  # noqa: E402
from hpcburst.client.scheduler import TERMINAL  # noqa: E402
from hpcburst.emulators import start_cosmos_server  # noqa: E402
from hpcburst.storage.state.cosmos import CosmosStateStore  # noqa: E402
from hpcburst.storage.state.port import StateStore, WriteOp  # noqa: E402
from hpcburst.storage.state.sqlite import SqliteStateStore  # noqa: E402

BATCH = 100
JOB = "bench-job"


def seed(store: StateStore, count: int) -> dict[str, str]:
    """``count`` queued tasks in one job; their ids -> etags."""
    etags: dict[str, str] = {}
    for start in range(0, count, BATCH):
        ops = [
            WriteOp("upsert", f"{JOB}.{i}", {"index": i, "state": "Queued"})
            for i in range(start, min(count, start + BATCH))
        ]
        for doc in store.batch(c.TASKS, JOB, ops):
            assert doc is not None and doc.etag is not None
            etags[doc.id] = doc.etag
    return etags


def single(store: StateStore, etags: dict[str, str], deadline: float) -> int:
    done = 0
    while time.perf_counter() < deadline:
        for task_id, etag in etags.items():
            body = {"index": int(task_id.rsplit(".", 1)[1]), "state": "Running", "node": "n1", "round": done}
            etags[task_id] = str(store.replace(c.TASKS, JOB, task_id, body, if_match=etag).etag)
            done += 1
            if done % 50 == 0 and time.perf_counter() >= deadline:
                return done
    return done


def batched(store: StateStore, etags: dict[str, str], deadline: float) -> int:
    done, ids = 0, list(etags)
    while time.perf_counter() < deadline:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            ops = [
                WriteOp(
                    "replace",
                    t,
                    {"index": int(t.rsplit(".", 1)[1]), "state": "Finished", "round": done},
                    etags[t],
                )
                for t in chunk
            ]
            for doc in store.batch(c.TASKS, JOB, ops):
                assert doc is not None
                etags[doc.id] = str(doc.etag)
            done += len(chunk)
            if time.perf_counter() >= deadline:
                return done
    return done


def rate(store: StateStore, run: Callable[[StateStore, dict[str, str], float], int], seconds: float) -> float:
    etags = seed(store, 1000)
    started = time.perf_counter()
    done = run(store, etags, started + seconds)
    return done / (time.perf_counter() - started)


def measure_cosmos(log_dir: Path, keep_alive: bool, seconds: float) -> tuple[float, float]:
    server = start_cosmos_server(log_dir, keep_alive=keep_alive)
    try:
        cosmos = CosmosStateStore(server.endpoint, server.key, "bench", verify_tls=False, emulator=True)
        figures = (rate(cosmos, single, seconds), rate(cosmos, batched, seconds))
        cosmos.close()
        return figures
    finally:
        server.stop()


def sweep_seconds(cluster: LocalCluster, indexes: int, before: Callable[[], None] = lambda: None) -> float:
    """Start ``cluster`` (2 agents x 2 slots), then time one sweep of ``indexes`` x `true` through the SDK."""
    cluster.start(agents=2, slots=2)
    try:
        # A user checking every 2 s (each view counts the job's indexes by state: a few queries), not a
        # long-poll: the Cosmos server takes seconds per view of a big job, which a long-poll would repeat.
        with Scheduler(cluster.url, token=cluster.admin_token, timeout=300) as s:
            before()
            began = time.perf_counter()
            job = s.submit("true", sweep=f"1-{indexes}")
            view = s.view_job(job)
            while view["state"] not in TERMINAL:
                time.sleep(2)
                view = s.view_job(job)
            seconds = time.perf_counter() - began
        assert view["counts"].get("Finished") == indexes, view["counts"]
        return seconds
    finally:
        cluster.stop()


def sweep_costs(indexes: int, tmp: Path) -> None:
    """The same sweep on SQLite and on the Cosmos server; Cosmos operations per index by kind."""
    sqlite = sweep_seconds(LocalCluster(tmp / "sqlite"), indexes)
    cosmos = start_counting_cosmos(tmp / "cosmos")
    try:
        env = {c.ENV_STATE_BACKEND: "cosmos", c.ENV_COSMOS_ENDPOINT: cosmos.server.endpoint,
               c.ENV_COSMOS_KEY: cosmos.server.key, c.ENV_COSMOS_DATABASE: "sweep",
               c.ENV_COSMOS_VERIFY_TLS: "false", c.ENV_COSMOS_EMULATOR: "1"}  # fmt: skip
        seconds = sweep_seconds(LocalCluster(tmp / "on-cosmos", env=env), indexes, before=cosmos.reset)
        counts = cosmos.counts()
    finally:
        cosmos.stop()
    print(f"\nsweep of {indexes:,} x `true` (devhost, 2 agents x 2 slots), submit to all Finished")
    print(f"{'sqlite':<16}{sqlite:>8.1f} s {indexes / sqlite:>8,.0f} indexes/s")
    print(
        f"{'cosmos server':<16}{seconds:>8.1f} s {indexes / seconds:>8,.0f} indexes/s   {per_index(counts, indexes)}"
    )
    print(f"cosmos operations during the sweep: {counts} (goal: <= 3 operations per index)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per cell")
    parser.add_argument(
        "--sweep", type=int, default=10_000, help="indexes of the sweep whose cost is counted"
    )
    parser.add_argument("--only-sweep", action="store_true", help="skip the update-rate table")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    if args.only_sweep:
        sweep_in_tmp(args.sweep)
        return
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStateStore(Path(tmp) / "bench.db")
        results["sqlite"] = (rate(sqlite, single, args.seconds), rate(sqlite, batched, args.seconds))
        sqlite.close()
        for name, keep_alive in (("cosmos server", True), ("cosmos (close)", False)):
            results[name] = measure_cosmos(Path(tmp) / name.replace(" ", "-"), keep_alive, args.seconds)
    print(f"task-state updates/s (replace with if_match; batches of {BATCH}; {args.seconds:g} s per cell)")
    print(f"{'backend':<16}{'single':>12}{'batched':>12}{'batched/single':>16}")
    for name, (one, many) in results.items():
        print(f"{name:<16}{one:>12,.0f}{many:>12,.0f}{many / one:>15.1f}x")
    (s1, s2), (c1, c2) = results["sqlite"], results["cosmos server"]
    print(f"{'sqlite/cosmos':<16}{s1 / c1:>11.1f}x{s2 / c2:>11.1f}x")
    print("cosmos server: HTTP keep-alive, as Cosmos DB; cosmos (close): the npm CLI's Connection: close,")
    print("so every request pays a TLS handshake (what the test fixture's server does by default).")
    if args.sweep:
        sweep_in_tmp(args.sweep)


def sweep_in_tmp(indexes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hpcburst-bench-") as tmp:
        Path(tmp).chmod(0o711)  # agents run as root here: their tasks' account must reach its directory
        sweep_costs(indexes, Path(tmp))


if __name__ == "__main__":
    main()
