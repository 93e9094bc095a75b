"""The ``hpcburst`` command: each command group lives in its own module and is mounted here."""

from __future__ import annotations

import typer

from hpcburst.cli import access, agent, burst, cluster, cost, data, devhost, job, node, pkg, pool, task
from hpcburst.cli.clusrun import clusrun as clusrun_command

app = typer.Typer(
    name="hpcburst",
    help="Run HPC work (parametric sweeps, SOA, Excel UDF offload) on a hybrid on-premises + cloud cluster.",
    no_args_is_help=True,
    add_completion=False,
)

app.command("devhost", help="Run function_app.py on the local Functions + Durable runtime.")(devhost.devhost)
app.command("up", help="Start the local cluster: Azurite, the runtime with the app, N agents.")(cluster.up)
app.command("down", help="Stop the local cluster started by `hpcburst up`.")(cluster.down)
app.command("agent", help="Run a node agent that leases work from the cluster.")(agent.agent)
app.add_typer(job.app, name="job", help="Submit, view, list, cancel, requeue and wait for jobs.")
app.command(
    "clusrun",
    help="(admins) Run a command once on each chosen Online node; show each node's output and exit code.",
    context_settings={"allow_interspersed_args": False},
)(clusrun_command)
app.add_typer(task.app, name="task", help="View one task (JOB.INDEX): state, node, exit code, output.")
app.add_typer(node.app, name="node", help="List nodes; take them offline (drain) or online.")
app.add_typer(
    data.app, name="data", help="Move data to and from blob storage: upload, download, sync, bench."
)
app.add_typer(
    access.users, name="user", help="(admins) Add, list and remove users; `user add` prints a token."
)
app.add_typer(access.tokens, name="token", help="List, create and revoke API tokens.")
app.add_typer(pool.app, name="pool", help="(admins) Pools: create, list, show, set, delete, join-token.")
app.command("whoami", help="Who the cluster takes you for.")(access.whoami)
app.command("cost", help="What cloud node time cost, by job, user or pool (--since 1h|2d|SECONDS).")(
    cost.cost
)
app.add_typer(pkg.app, name="pkg", help="Application packages: create, upload, list, remove, sync.")
app.add_typer(
    burst.app,
    name="burst",
    help="Burst policy: simulate a trace (status and log come with the runtime integration).",
)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
