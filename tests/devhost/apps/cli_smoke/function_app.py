"""A one-function app for running the CLI as a process."""

import os
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello")
def hello(req: func.HttpRequest) -> str:
    return f"hello from pid {os.getpid()}"


@app.route(route="hang")
def hang(req: func.HttpRequest) -> str:
    time.sleep(3600)
    return "never"
