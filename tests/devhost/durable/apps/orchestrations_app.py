"""A small Durable app exercising each engine feature (used by the engine tests)."""

import datetime as dt
import json
import os
import threading
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}"


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="attempt")
def flaky(attempt: dict) -> str:
    """Fails until the marker file has recorded ``attempt["failures"]`` calls."""
    path = attempt["path"]
    calls = int(open(path).read()) if os.path.exists(path) else 0
    with open(path, "w") as out:
        out.write(str(calls + 1))
    if calls < attempt["failures"]:
        raise ValueError(f"attempt {calls + 1} failed")
    return f"succeeded on attempt {calls + 1}"


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("say_hello", "Tokyo")
    second = yield context.call_activity("say_hello", "Seattle")
    third = yield context.call_activity("say_hello", "London")
    return [first, second, third]


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("double", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    args = context.get_input()
    options = df.RetryOptions(
        first_retry_interval_in_milliseconds=50, max_number_of_attempts=args["attempts"]
    )
    try:
        result = yield context.call_activity_with_retry("flaky", options, args)
    except Exception as error:
        result = f"gave up: {error}"
    after = yield context.call_activity("say_hello", "after")
    return {"result": result, "after": after}


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value < 0:
        raise ValueError(f"negative input {value}")
    doubled = yield context.call_activity("double", value)
    return doubled


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    values = context.get_input()
    results = yield context.task_all([context.call_sub_orchestrator("child", v) for v in values])
    return results


@app.orchestration_trigger(context_name="context")
def parent_catching(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("child", -1)
    except Exception as error:
        return f"caught: {error}"
    return "not reached"


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    seconds = context.get_input()
    start = context.current_utc_datetime
    yield context.create_timer(start + dt.timedelta(seconds=seconds))
    return (context.current_utc_datetime - start).total_seconds()


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """Waits for 'Approval' after an activity (so an early event arrives before the wait)."""
    yield context.call_activity("say_hello", "before")
    context.set_custom_status("waiting for approval")
    answer = yield context.wait_for_external_event("Approval")
    context.set_custom_status({"approved": answer})
    return answer


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    seconds = context.get_input()
    timer = context.create_timer(context.current_utc_datetime + dt.timedelta(seconds=seconds))
    event = context.wait_for_external_event("Go")
    winner = yield context.task_any([timer, event])
    if winner == event:
        timer.cancel()
        return {"winner": "event", "value": event.result}
    return {"winner": "timer"}


@app.orchestration_trigger(context_name="context")
def counter_loop(context: df.DurableOrchestrationContext):
    state = context.get_input()
    if state["n"] >= state["until"]:
        return state
    yield context.call_activity("double", state["n"])
    context.continue_as_new({"n": state["n"] + 1, "until": state["until"]})
    return None


@app.orchestration_trigger(context_name="context")
def eternal_listener(context: df.DurableOrchestrationContext):
    """Adds each 'Add' event to a total; continues as new after each one (events between are carried)."""
    total = context.get_input() or 0
    value = yield context.wait_for_external_event("Add")
    total += value
    if value == 0:
        return total
    yield context.call_activity("say_hello", "slow-step")
    context.continue_as_new(total)
    return None


@app.orchestration_trigger(context_name="context")
def waits_forever(context: df.DurableOrchestrationContext):
    yield context.wait_for_external_event("Never")
    return "impossible"


@app.orchestration_trigger(context_name="context")
def calls_missing(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("no_such_activity", 1)
    return result


@app.orchestration_trigger(context_name="context")
def raises(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "x")
    raise RuntimeError("orchestrator exploded")


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_state(value)
    elif operation == "reset":
        value = 0
        context.set_state(value)
    elif operation == "fail":
        raise ValueError("entity operation failed")
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def uses_counter(context: df.DurableOrchestrationContext):
    entity = df.EntityId("counter", context.get_input())
    context.signal_entity(entity, "add", 5)
    after_add = yield context.call_entity(entity, "add", 10)
    current = yield context.call_entity(entity, "get")
    try:
        yield context.call_entity(entity, "fail")
        failure = None
    except Exception as error:
        failure = str(error)
    return {"after_add": after_add, "current": current, "failure": failure}


@app.route(route="start/{name}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new(
        req.route_params["name"], None, json.loads(req.get_body() or b"null")
    )
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def parent_retrying(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=20, max_number_of_attempts=2)
    try:
        yield context.call_sub_orchestrator_with_retry("child", options, -5)
    except Exception as error:
        return f"gave up: {error}"
    return "not reached"


CONCURRENCY = {"running": 0, "peak": 0}
_CONCURRENCY_LOCK = threading.Lock()


@app.activity_trigger(input_name="seconds")
def tracked(seconds: float) -> int:
    """Records how many activities run at once (to check max_activities)."""
    with _CONCURRENCY_LOCK:
        CONCURRENCY["running"] += 1
        CONCURRENCY["peak"] = max(CONCURRENCY["peak"], CONCURRENCY["running"])
    time.sleep(seconds)
    with _CONCURRENCY_LOCK:
        CONCURRENCY["running"] -= 1
    return 1


@app.orchestration_trigger(context_name="context")
def fan_out_tracked(context: df.DurableOrchestrationContext):
    results = yield context.task_all(
        [context.call_activity("tracked", 0.02) for _ in range(context.get_input())]
    )
    return sum(results)
