"""The ``hpcburst`` command: each command group lives in its own module and is mounted here.

Modules are imported when their commands are: ``hpcburst job submit`` loads the job commands only, so a
script calling the CLI in a loop does not pay for the data, burst simulation and cluster commands.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

# name -> (module:attribute, help, whether it is a command group), in the order --help lists them
ENTRIES: dict[str, tuple[str, str, bool]] = {
    "devhost": ("hpcburst.devhost.command:devhost", "Run function_app.py on the local Functions + Durable runtime.", False),
    "up": ("hpcburst.cli.cluster:up", "Start the local cluster: Azurite, the runtime with the app, N agents.", False),
    "down": ("hpcburst.cli.cluster:down", "Stop the local cluster started by `hpcburst up`.", False),
    "agent": ("hpcburst.cli.agent:agent", "Run a node agent that leases work from the cluster.", False),
    "job": ("hpcburst.cli.job:app", "Submit, view, list, cancel, requeue and wait for jobs.", True),
    "clusrun": ("hpcburst.cli.clusrun:clusrun", "(admins) Run a command once on each chosen Online node; show each node's output and exit code.", False),
    "task": ("hpcburst.cli.task:app", "View one task (JOB.INDEX): state, node, exit code, output.", True),
    "node": ("hpcburst.cli.node:app", "List nodes; drain them (offline/online); start and stop cloud nodes.", True),
    "data": ("hpcburst.cli.data:app", "Move data to and from blob storage: upload, download, sync, bench.", True),
    "user": ("hpcburst.cli.access:users", "(admins) Add, list and remove users; `user add` prints a token.", True),
    "token": ("hpcburst.cli.access:tokens", "List, create and revoke API tokens.", True),
    "pool": ("hpcburst.cli.pool:app", "(admins) Pools: create, list, show, set, delete, join-token.", True),
    "template": ("hpcburst.cli.template:app", "Job templates: defaults and limits (create/delete: admins).", True),
    "whoami": ("hpcburst.cli.access:whoami", "Who the cluster takes you for.", False),
    "cost": ("hpcburst.cli.cost:cost", "What cloud node time cost, by job, user or pool (--since 1h|2d|SECONDS).", False),
    "pkg": ("hpcburst.cli.pkg:app", "Application packages: create, upload, list, remove, sync.", True),
    "service": ("hpcburst.cli.soa:services", "SOA services: register, list, show, remove (register/remove: admins).", True),
    "session": ("hpcburst.cli.soa:sessions", "SOA sessions: list, view, close (--purge).", True),
    "excel": ("hpcburst.cli.excel:app", "Workbook case sweeps: one index per case of a cases table, results merged.", True),
    "burst": ("hpcburst.cli.burst:app", "Bursting: status, the decision log, re-enable a pool; simulate the policy on a trace.", True),
}  # fmt: skip


def build(only: str | None = None) -> typer.Typer:
    """The command with every group and command, or (``only``) with that one group alone."""
    app = typer.Typer(
        name="hpcburst",
        help="Run HPC work (parametric sweeps, SOA, Excel UDF offload) on a hybrid on-premises + cloud cluster.",
        no_args_is_help=True,
        add_completion=False,
    )
    for name, (where, text, group) in ENTRIES.items():
        if only is not None and name != only:
            continue
        module, _, attr = where.partition(":")
        target = getattr(importlib.import_module(module), attr)
        if group:
            app.add_typer(target, name=name, help=text)
        else:
            # clusrun takes the command after `--`: its options must not be read out of CMD's arguments
            settings = {"allow_interspersed_args": False} if name == "clusrun" else None
            app.command(name, help=text, context_settings=settings)(target)
    return app


def main() -> None:
    first = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    build(first if first in ENTRIES and ENTRIES[first][2] else None)()


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole command (tests drive it with typer's CliRunner)
        return build()
    raise AttributeError(name)


if __name__ == "__main__":
    main()
