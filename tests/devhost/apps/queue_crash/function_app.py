"""A slow queue function that records each attempt in the EFFECTS_LOG file (for the kill -9 test)."""

import os
import time

import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="%CRASH_QUEUE%", connection="AzureWebJobsStorage")
def slow(msg: func.QueueMessage) -> None:
    with open(os.environ["EFFECTS_LOG"], "a") as log:
        log.write(f"start {msg.get_body().decode()} {msg.dequeue_count}\n")
    time.sleep(float(os.environ.get("STEP_SECONDS", "2")))
    with open(os.environ["EFFECTS_LOG"], "a") as log:
        log.write(f"end {msg.get_body().decode()} {msg.dequeue_count}\n")
