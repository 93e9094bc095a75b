"""Queue trigger on ``hpc-dispatch``: a batch message becomes Queued task documents (idempotently).

Message body: ``{"job": "12", "batches": [3, 4]}`` (or a claim-check reference to it). Delivered at
least once: a redelivered batch creates nothing new; a batch found already complete pokes its
orchestration so it is not waited on forever.
"""

from __future__ import annotations

import asyncio

import azure.durable_functions as df
import azure.functions as func

from functions.durable_port import poke
from hpcburst import constants as c
from hpcburst.services.root import services

bp = df.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name=c.DISPATCH_QUEUE, connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def materialize_batches(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    s = services()
    complete = await asyncio.to_thread(s.dispatch.materialize_message, msg.get_body().decode())
    for job_id, batch in complete:
        job = s.catalog.get(job_id)
        await poke(client, job.instance_id, {"kind": "batch_done", "job": job_id, "batch": batch})
