"""The generic SOA service that runs workbook UDFs on the cluster's hosts.

``hpcburst excel calc`` registers a service whose module is this one and whose package holds the author's UDF
module (``hpcburst.excel.udf_deploy``). Each request names the UDF module, so one registration per package
serves any module in it; a host imports that module once and keeps its UDFs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from hpcburst.excel.udf import as_tuples, call_udf, udfs_of
from hpcburst.soa.service import Service

SERVICE_MODULE = __name__
OPERATION = "call"

svc = Service("excel-udf")
_loaded: dict[str, dict[str, Callable[..., Any]]] = {}  # UDF module -> its UDFs, once per host


@svc.operation
def call(module: str, function: str, args: list[Any]) -> list[Any]:
    """``[value, None]``, or ``["#VALUE!", reason]`` when the UDF raises (an error cell, not a fault)."""
    udfs = _loaded.get(module)
    if udfs is None:
        udfs = _loaded[module] = udfs_of(importlib.import_module(module))
    fn = udfs.get(function)
    if fn is None:
        return [
            "#NAME?",
            f"{module} has no UDF named {function} (it has {', '.join(sorted(udfs)) or 'none'})",
        ]
    value, reason = call_udf(fn, as_tuples(args))
    return [value, reason]
