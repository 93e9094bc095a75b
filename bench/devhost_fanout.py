"""Fan-out/fan-in of 2,000 no-op activities through the devhost Durable engine (SQLite task hub on disk).

Prints activities/s end to end (start -> orchestration Completed) and the number of episodes (replays), beside a
baseline measured in the same run: calling the same no-op activity 2,000 times directly, with the SDK's
encode/decode, and no engine. Goal: >= 1,500 activities/s on a 2-core machine.

    .venv/bin/python bench/devhost_fanout.py [--activities 2000] [--max-activities 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.utils.df_serialization import df_dumps, df_loads

from hpcburst.devhost.durable import DurableEngine, DurableRegistry

GOAL = 1500.0

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def noop(value: int) -> int:
    return value


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("noop", i) for i in range(count)])
    return len(results)


def baseline(count: int) -> float:
    """Seconds to call the no-op activity ``count`` times directly (decode input, call, encode result)."""
    started = time.perf_counter()
    for i in range(count):
        df_dumps(noop(df_loads(df_dumps(i))))
    return time.perf_counter() - started


async def one_run(registry: DurableRegistry, count: int, max_activities: int) -> tuple[float, int, float]:
    """(wall seconds, episodes, CPU seconds of this process) for one fan-out/fan-in."""
    with tempfile.TemporaryDirectory() as folder:
        engine = DurableEngine(str(Path(folder) / "hub.sqlite"), registry, max_activities=max_activities)
        await engine.start()
        try:
            started, cpu_started = time.perf_counter(), time.process_time()
            instance_id = await engine.start_new("fan_out_fan_in", input=count)
            status = await engine.wait_for_completion(instance_id, timeout=300)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        finally:
            await engine.stop()
    if status["runtimeStatus"] != "Completed" or status["output"] != count:
        raise SystemExit(f"fan-out did not complete: {status}")
    return elapsed, engine.episodes, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--max-activities", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # azure-functions warns about auth levels on indexing
    registry = DurableRegistry.from_functions(app.get_functions())
    logging.getLogger().setLevel(logging.WARNING)
    runs = [asyncio.run(one_run(registry, args.activities, args.max_activities)) for _ in range(args.repeat)]
    best = min(runs)
    direct = baseline(args.activities)
    rate = args.activities / best[0]
    direct_rate = args.activities / direct
    print(f"fan-out/fan-in of {args.activities} no-op activities, max {args.max_activities} concurrent")
    for index, (elapsed, episodes, cpu) in enumerate(runs, 1):
        print(
            f"  run {index}: {elapsed:.3f} s, {args.activities / elapsed:,.0f} activities/s, {episodes} episodes, "
            f"{cpu:.3f} s CPU"
        )
    print(f"engine:   {rate:,.0f} activities/s (best of {args.repeat}; median {args.activities / statistics.median(r[0] for r in runs):,.0f})"
          f"  [goal >= {GOAL:,.0f}: {'met' if rate >= GOAL else 'NOT met'}]")  # fmt: skip
    print(f"replays:  {best[1]} episodes for {args.activities} activities")
    print(f"baseline: {direct_rate:,.0f} activities/s calling the activity directly (no engine)")
    print(
        f"cpu:      {args.activities / best[2]:,.0f} activities per CPU-second (the wall figure depends on machine load)"
    )
    print(f"ratio:    engine overhead {direct_rate / rate:,.1f}x the direct call cost")


if __name__ == "__main__":
    main()
