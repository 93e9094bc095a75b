"""Durable entities: calls and signals from orchestrations and clients, state persisted, operations serialized."""

import azure.durable_functions as df
from durable_support import running_engine
from test_http_client import ServedEngine


def test_orchestration_signals_and_calls_an_entity_in_order(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine:
            instance_id = await engine.start_new("uses_counter", input="k1")
            status = await engine.wait_for_completion(instance_id, timeout=20)
            return status, await engine.entity_state("counter", "k1")

    status, state = run(scenario())
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["after_add"] == 15  # the signal (add 5) was issued first, so it ran first
    assert status["output"]["current"] == 15
    assert "entity operation failed" in status["output"]["failure"]
    assert state == (True, 15)


def test_entity_state_survives_a_restart_and_signals_are_serialized(db_path, run):
    async def first_run():
        async with running_engine(db_path) as engine:
            for _ in range(20):
                await engine.signal_entity("counter", "shared", "add", 1)

    async def second_run():
        async with running_engine(db_path) as engine, ServedEngine(engine) as served:
            client = served.client()
            await client.signal_entity(df.EntityId("counter", "shared"), "add", 100)
            instance_id = await engine.start_new("uses_counter", input="shared")
            await engine.wait_for_completion(instance_id, timeout=20)
            response = await client.read_entity_state(df.EntityId("counter", "shared"))
            missing = await client.read_entity_state(df.EntityId("counter", "nobody"))
            return response, missing

    run(first_run())
    response, missing = run(second_run())
    assert response.entity_exists and response.entity_state == 20 + 100 + 15
    assert not missing.entity_exists
