"""Timers: every 2 s, the burst controller ticks (a submit also wakes it at once) and jobs past their
``runtime`` fail; every 5 s, nodes whose heartbeats stopped lose their leased work (re-queued), and Queued
indices pinned to a node no longer Online fail; every 15 s, each active job's orchestration is poked, so a
lost "batch done" hint never leaves a job waiting."""

from __future__ import annotations

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from functions.durable_port import poke
from hpcburst.services.root import services

bp = df.Blueprint()
log = logging.getLogger("hpcburst.functions")


@bp.timer_trigger(arg_name="timer", schedule="*/2 * * * * *", run_on_startup=False)
async def burst_tick(timer: func.TimerRequest) -> None:
    decision = await asyncio.to_thread(services().burst.tick)
    if decision is not None and decision.actions:
        log.info("burst: %s", decision.reason)


@bp.timer_trigger(arg_name="timer", schedule="*/5 * * * * *", run_on_startup=False)
async def expire_nodes(timer: func.TimerRequest) -> None:
    expired = await asyncio.to_thread(services().nodes.expire)
    if expired:
        log.warning("nodes stopped heartbeating, their work was re-queued: %s", ", ".join(expired))


@bp.timer_trigger(arg_name="timer", schedule="*/5 * * * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def fail_stranded_pins(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    for instance, job, batch in await asyncio.to_thread(services().pinned.fail_stranded):
        await poke(client, instance, {"kind": "batch_done", "job": job, "batch": batch})


@bp.timer_trigger(arg_name="timer", schedule="*/2 * * * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def enforce_runtimes(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    for job in await asyncio.to_thread(services().jobs.over_runtime):
        log.warning("job %s ran past its runtime: failed", job.id)
        await poke(client, job.instance_id, {"kind": "check", "job": job.id})


@bp.timer_trigger(arg_name="timer", schedule="*/15 * * * * *", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def poke_jobs(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    s = services()
    s.catalog.invalidate()
    for job in await asyncio.to_thread(s.catalog.active):
        await poke(client, job.instance_id, {"kind": "check"})
