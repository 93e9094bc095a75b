"""A slow orchestration for the crash-restart test: every activity records its side effects in a file."""

import datetime as dt
import time

import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="job")
def step(job: dict) -> int:
    with open(job["path"], "a") as log:
        log.write(f"start {job['i']}\n")
    time.sleep(job["delay"])
    with open(job["path"], "a") as log:
        log.write(f"done {job['i']}\n")
    return job["i"]


@app.orchestration_trigger(context_name="context")
def crash_chain(context: df.DurableOrchestrationContext):
    args = context.get_input()
    chain = []
    for i in range(args["steps"]):
        job = {"path": args["path"], "i": i, "delay": args["delay"]}
        chain.append((yield context.call_activity("step", job)))
    fan = yield context.task_all(
        [
            context.call_activity("step", {"path": args["path"], "i": 100 + j, "delay": args["delay"]})
            for j in range(4)
        ]
    )
    finish = yield context.wait_for_external_event("Finish")
    return {"chain": chain, "fan": fan, "finish": finish}


@app.orchestration_trigger(context_name="context")
def nap(context: df.DurableOrchestrationContext):
    """A durable timer that is pending while the process dies."""
    start = context.current_utc_datetime
    yield context.create_timer(start + dt.timedelta(seconds=context.get_input()))
    return "woke up"
