"""`hpcburst devhost`: run function_app.py on the local Functions + Durable runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

AppDir = Annotated[str, typer.Option("--app-dir", help="Folder holding function_app.py and host.json.")]
Port = Annotated[
    int | None,
    typer.Option(
        "--port", min=0, help="HTTP port (default: local.settings.json Host.LocalHttpPort, else 7071)."
    ),
]
DataDir = Annotated[
    str | None,
    typer.Option(
        "--data-dir", help="Durable state, function keys, timer status (default: APP_DIR/.hpcburst/devhost)."
    ),
]
Bind = Annotated[str, typer.Option("--host", help="Address to listen on (as `func start`: all interfaces).")]
Grace = Annotated[
    float, typer.Option("--shutdown-grace", hidden=True, help="Seconds running functions get at shutdown.")
]

Lease = Annotated[
    float,
    typer.Option("--queue-lease", hidden=True, help="Seconds a queue message stays hidden while processed."),
]


def devhost(
    app_dir: AppDir = ".",
    port: Port = None,
    data_dir: DataDir = None,
    host: Bind = "0.0.0.0",
    grace: Grace = 10.0,
    lease: Lease = 600.0,
) -> None:
    from hpcburst.devhost.runner import run

    raise typer.Exit(run(Path(app_dir), port, Path(data_dir) if data_dir else None, host, grace, lease))
