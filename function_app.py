"""The hpcburst Functions app: registers one Blueprint per module, nothing else happens at import."""

import azure.durable_functions as df

from functions import (
    agent_http,
    burst_http,
    cost_http,
    dispatch_queue,
    jobs_http,
    nodes_http,
    openapi_http,
    pools_http,
    soa_http,
    templates_http,
    timers,
    users_http,
)
from orchestrations import activities, job_orchestrator, session_orchestrator, soa_activities

app = df.DFApp()
for module in (
    jobs_http,
    nodes_http,
    agent_http,
    users_http,
    pools_http,
    templates_http,
    burst_http,
    cost_http,
    soa_http,
    openapi_http,
    dispatch_queue,
    timers,
    job_orchestrator,
    activities,
    session_orchestrator,
    soa_activities,
):
    app.register_functions(module.bp)
