"""An app whose import fails: a module it needs is not installed."""

import azure.functions as func
import hpcburst_no_such_module  # noqa: F401

app = func.FunctionApp()
