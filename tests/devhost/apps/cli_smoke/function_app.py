"""A one-function app for running the CLI as a process."""

import os

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello")
def hello(req: func.HttpRequest) -> str:
    return f"hello from pid {os.getpid()}"
