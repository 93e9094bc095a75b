"""Durable test app: an HTTP starter with a durable client, a sequence, a slow chain with side effects."""

import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


@app.route(route="status/{instance}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    found = await client.get_status(req.route_params["instance"])
    return func.HttpResponse(json.dumps({"status": found.runtime_status.value}), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    steps = context.get_input()["steps"]
    done = []
    for step in range(steps):
        done.append((yield context.call_activity("slow_step", step)))
    return done


@app.activity_trigger(input_name="step")
def slow_step(step: int) -> int:
    """Records each run in the EFFECTS_LOG file, so a test can count executions."""
    with open(os.environ["EFFECTS_LOG"], "a") as log:
        log.write(f"start {step}\n")
    time.sleep(float(os.environ.get("STEP_SECONDS", "0.3")))
    with open(os.environ["EFFECTS_LOG"], "a") as log:
        log.write(f"end {step}\n")
    return step
