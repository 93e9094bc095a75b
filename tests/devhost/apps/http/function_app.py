"""HTTP test app: routes with parameters, methods, auth levels, sync/async, return types, errors, settings."""

import asyncio
import json
import os
import threading

import azure.functions as func
from http_blueprint import bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.route_params['name']}")


@app.route(route="echo", methods=["POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "header": req.headers.get("X-Test"),
        "body": req.get_body().decode(),
        "thread": threading.current_thread().name,
    }
    return func.HttpResponse(
        json.dumps(body), status_code=201, mimetype="application/json", headers={"X-Echo": "1"}
    )


@app.route(route="async_echo/{word}")
async def async_echo(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0)
    body = {"word": req.route_params["word"], "thread": threading.current_thread().name}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="plain")
def plain(req: func.HttpRequest) -> str:
    return "just text"


@app.route(route="nothing")
def nothing(req: func.HttpRequest) -> None:
    return None


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret detail that must not leak")


@app.route(route="weird")
def weird(req: func.HttpRequest):
    return {"a": 1}


@app.route(route="secured", auth_level=func.AuthLevel.FUNCTION)
def secured(req: func.HttpRequest) -> str:
    return "function level ok"


@app.route(route="admin_only", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin level ok"


@app.route(route="setting/{name}")
def setting(req: func.HttpRequest) -> str:
    return os.environ.get(req.route_params["name"], "<unset>")


@app.function_name("named_function")
@app.route(route="context")
def with_context(req: func.HttpRequest, context: func.Context) -> str:
    return f"{context.function_name} {bool(context.invocation_id)}"


@app.route(route="via_out", binding_arg_name="response")
def via_out(req: func.HttpRequest, response: func.Out[func.HttpResponse]) -> None:
    response.set(func.HttpResponse("set through func.Out", status_code=202))
