"""The SDK's DurableOrchestrationClient drives the engine through the Durable HTTP API on a real aiohttp server."""

import json

import aiohttp
import azure.durable_functions as df
import azure.functions as func
import pytest
from aiohttp import web
from azure.durable_functions.models.utils import http_utils
from durable_support import ORCHESTRATIONS_APP, load_app, running_engine


class ServedEngine:
    """The engine's HTTP API on 127.0.0.1 with a free port."""

    def __init__(self, engine):
        self.engine = engine
        self.runner = None
        self.base_url = ""

    async def __aenter__(self):
        app = web.Application()
        app.router.add_route("*", "/runtime/webhooks/durabletask/{tail:.*}", self.engine.handle_http)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc):
        await http_utils._close_session()  # the SDK keeps one module-level session
        await self.runner.cleanup()

    def client(self):
        return df.DurableOrchestrationClient(self.engine.client_binding(self.base_url))


def test_sdk_client_starts_queries_raises_and_purges(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine, ServedEngine(engine) as served:
            client = served.client()
            instance_id = await client.start_new("approval", client_input={"who": "me"})
            status = await client.get_status(instance_id, show_input=True)
            assert status.runtime_status in (
                df.OrchestrationRuntimeStatus.Pending,
                df.OrchestrationRuntimeStatus.Running,
            )
            assert status.input_ == {"who": "me"}
            await client.raise_event(instance_id, "Approval", {"ok": True})
            await engine.wait_for_completion(instance_id, timeout=20)
            done = await client.get_status(instance_id, show_history=True)
            listed = await client.get_status_all()
            purged = await client.purge_instance_history(instance_id)
            missing = await client.get_status(instance_id)
            return done, listed, purged, missing

    done, listed, purged, missing = run(scenario())
    assert done.runtime_status == df.OrchestrationRuntimeStatus.Completed
    assert done.output == {"ok": True}
    assert any(e["EventType"] == "EventRaised" for e in done.historyEvents)
    assert [s.instance_id for s in listed] == [done.instance_id]
    assert purged.instances_deleted == 1
    assert not missing  # a 404 status is falsy in the SDK


def test_sdk_client_terminate_suspend_resume_and_errors(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine, ServedEngine(engine) as served:
            client = served.client()
            with pytest.raises(Exception, match="no_such_orchestrator"):
                await client.start_new("no_such_orchestrator")
            with pytest.raises(Exception, match="No instance with ID nope found"):
                await client.raise_event("nope", "Never", 1)
            instance_id = await client.start_new("waits_forever", instance_id="fixed-id")
            await client.suspend(instance_id, "pause")
            await client.resume(instance_id, "continue")
            await client.terminate(instance_id, "stop it")
            status = await engine.wait_for_completion(instance_id, timeout=20)
            with pytest.raises(Exception, match="is gone"):
                await client.raise_event(instance_id, "Never", 1)
            running = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Running])
            return status, running

    status, running = run(scenario())
    assert status["instanceId"] == "fixed-id"
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "stop it"
    assert running == []


def test_durable_client_function_check_status_urls_reach_the_api(db_path, run):
    """The app's own HTTP starter (durable_client_input) works with the binding JSON and its check-status URLs."""
    starter = load_app(ORCHESTRATIONS_APP).http_start._function.get_user_function()

    async def scenario():
        async with running_engine(db_path) as engine, ServedEngine(engine) as served:
            request = func.HttpRequest(
                "POST", f"{served.base_url}/api/start/chain", route_params={"name": "chain"}, body=b"null"
            )
            response = await starter(request, client=engine.client_binding(served.base_url))
            links = json.loads(response.get_body())
            await engine.wait_for_completion(links["id"], timeout=20)
            async with aiohttp.ClientSession() as session:
                async with session.get(links["statusQueryGetUri"]) as reply:
                    return response, links, reply.status, await reply.json()

    response, links, code, body = run(scenario())
    assert response.status_code == 202 and response.headers["Location"] == links["statusQueryGetUri"]
    assert links["sendEventPostUri"].endswith(
        f"/instances/{links['id']}/raiseEvent/{{eventName}}?taskHub=hpcburst&connection=Storage"
    )
    assert code == 200 and body["runtimeStatus"] == "Completed"
    assert body["output"] == ["Hello Tokyo", "Hello Seattle", "Hello London"]


def test_restart_and_create_and_wait_endpoints(db_path, run):
    async def scenario():
        async with running_engine(db_path) as engine, ServedEngine(engine) as served:
            client = served.client()
            first = await client.start_new("fan_out", client_input=3)
            await engine.wait_for_completion(first, timeout=20)
            again = await client.restart(first)
            same = await client.restart(first, restart_with_new_instance_id=False)
            rpc = f"{served.base_url}/runtime/webhooks/durabletask/"
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{rpc}orchestrators/fan_out?timeout=20", json=4) as reply:
                    waited = reply.status, await reply.json()
            statuses = [await engine.wait_for_completion(i, timeout=20) for i in (again, same)]
            return first, again, same, statuses, waited

    first, again, same, statuses, waited = run(scenario())
    assert again != first and same == first
    assert [s["output"] for s in statuses] == [6, 6] and statuses[0]["input"] == 3
    assert waited == (200, 12)
