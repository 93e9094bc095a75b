"""An app whose queue trigger names a connection setting nobody set."""

import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="work", connection="MissingStorage")
def work(msg: func.QueueMessage) -> None:
    pass
