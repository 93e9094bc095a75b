"""An app with two functions answering GET on the same route template."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="jobs/{job}", methods=["GET"])
def get_job(req: func.HttpRequest) -> str:
    return "one"


@app.route(route="Jobs/{id}", methods=["GET", "POST"])
def also_get_job(req: func.HttpRequest) -> str:
    return "two"
