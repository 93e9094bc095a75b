"""The devhost command (`hpcburst devhost`, `python -m hpcburst.devhost`): run function_app.py on the local
Functions + Durable runtime.

It lives here, not in ``hpcburst.cli``, because the runtime imports nothing from the CLI; the CLI registers
this function as its ``devhost`` command.
"""

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
Bind = Annotated[
    str, typer.Option("--host", help="Address to listen on (default: this machine only; 0.0.0.0 for all).")
]
EnableAuth = Annotated[
    bool,
    typer.Option(
        "--enable-auth",
        help="Demand function keys for function/admin auth levels (as `func start --enableAuth`).",
    ),
]
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
    host: Bind = "127.0.0.1",
    grace: Grace = 10.0,
    lease: Lease = 600.0,
    enable_auth: EnableAuth = False,
) -> None:
    from hpcburst.devhost.runner import run

    directory = Path(data_dir) if data_dir else None
    raise typer.Exit(run(Path(app_dir), port, directory, host, grace, lease, enable_auth))
