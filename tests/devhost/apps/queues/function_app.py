"""Queue test app: delivery with metadata, str parameters and queue outputs, failures to poison, batches.

Queue names come from app settings (``%NAME%``) so every test uses fresh queues. The functions record
what they saw in module-level lists the in-process tests read.
"""

import asyncio
import threading
import time

import azure.functions as func

app = func.FunctionApp()

SEEN: list[dict] = []
FLAKY_ATTEMPTS: list[int] = []
BATCH = {"running": 0, "peak": 0, "done": 0}
SLOW: list[int] = []
_lock = threading.Lock()


@app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    SEEN.append(
        {
            "id": msg.id,
            "body": msg.get_body().decode(),
            "dequeue_count": msg.dequeue_count,
            "inserted": msg.insertion_time is not None,
        }
    )


@app.queue_trigger(arg_name="text", queue_name="%TEXT_QUEUE%", connection="")
@app.queue_output(arg_name="out", queue_name="%RELAY_QUEUE%", connection="AzureWebJobsStorage")
def relay(text: str, out: func.Out[str]) -> None:
    out.set(text.upper())


@app.queue_trigger(arg_name="msg", queue_name="%FLAKY_QUEUE%", connection="AzureWebJobsStorage")
def flaky(msg: func.QueueMessage) -> None:
    FLAKY_ATTEMPTS.append(msg.dequeue_count)
    raise RuntimeError("always fails")


@app.queue_trigger(arg_name="msg", queue_name="%BATCH_QUEUE%", connection="AzureWebJobsStorage")
async def batch(msg: func.QueueMessage) -> None:
    BATCH["running"] += 1
    BATCH["peak"] = max(BATCH["peak"], BATCH["running"])
    await asyncio.sleep(0.2)
    BATCH["running"] -= 1
    BATCH["done"] += 1


@app.queue_trigger(arg_name="msg", queue_name="%SLOW_QUEUE%", connection="AzureWebJobsStorage")
def slow(msg: func.QueueMessage) -> None:
    with _lock:
        SLOW.append(msg.dequeue_count)
    time.sleep(float(msg.get_body().decode()))
