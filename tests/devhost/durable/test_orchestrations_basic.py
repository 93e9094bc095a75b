"""Activity chains and fan-out/fan-in replay to the right result and history."""

from durable_support import running_engine


def test_activity_chain_returns_each_result_in_order(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("chain")
            status = await engine.wait_for_completion(instance_id, timeout=20)
            full = await engine.status(instance_id, show_history=True)
            return status, full

    status, full = run(scenario())
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo", "Hello Seattle", "Hello London"]
    kinds = [e["EventType"] for e in full["historyEvents"]]
    assert kinds.count("TaskScheduled") == 3 and kinds.count("TaskCompleted") == 3
    assert kinds[-1] == "ExecutionCompleted"


def test_fan_out_fan_in_sums_every_activity(db_path, run):
    async def scenario():
        async with running_engine(db_path, max_activities=4) as engine:
            instance_id = await engine.start_new("fan_out", input=200)
            return await engine.wait_for_completion(instance_id, timeout=30), engine.episodes

    status, episodes = run(scenario())
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == sum(2 * i for i in range(200))
    assert episodes < 200  # completions coalesce into few episodes


def test_stopping_the_engine_leaves_no_worker_threads(db_path, run):
    import threading

    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("fan_out", input=20)
            await engine.wait_for_completion(instance_id, timeout=20)

    run(scenario())
    assert [t.name for t in threading.enumerate() if t.name.startswith("durable-")] == []


def test_no_more_than_max_activities_run_at_once(db_path, run):
    from durable_support import ORCHESTRATIONS_APP, load_app

    concurrency = load_app(ORCHESTRATIONS_APP).CONCURRENCY
    concurrency["peak"] = 0

    async def scenario():
        async with running_engine(db_path, max_activities=3) as engine:
            instance_id = await engine.start_new("fan_out_tracked", input=30)
            return await engine.wait_for_completion(instance_id, timeout=20)

    assert run(scenario())["output"] == 30
    assert 1 <= concurrency["peak"] <= 3


def test_an_episode_whose_commit_fails_is_retried_from_the_store(db_path, run):
    import sqlite3

    async def scenario():
        async with running_engine(db_path) as engine:
            original, failures = engine.store.apply, []

            def apply_failing_once(batch):
                if batch.history and not failures:
                    failures.append(batch)
                    raise sqlite3.OperationalError("disk I/O error")
                return original(batch)

            engine.store.apply = apply_failing_once
            instance_id = await engine.start_new("chain")
            return await engine.wait_for_completion(instance_id, timeout=20), failures

    status, failures = run(scenario())
    assert len(failures) == 1
    assert status["output"] == ["Hello Tokyo", "Hello Seattle", "Hello London"]
