"""`hpcburst up` / `down`: the local cluster (Azurite, the runtime on function_app.py, N agents)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hpcburst import constants as c
from hpcburst.cli.common import console, friendly
from hpcburst.client.local_access import ADMIN_TOKEN_FILE
from hpcburst.client.local_cluster import ClusterState, LocalCluster, _alive, default_cluster_dir
from hpcburst.errors import InvalidState
from hpcburst.provisioners.factory import ENV_LOCAL_BOOT_DELAY

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where state, logs and pids live (default $HPCBURST_DATA_DIR/cluster)."),
]


def _data_dir(data_dir: Path | None) -> Path:
    return data_dir or default_cluster_dir()


@friendly
def up(
    agents: Annotated[int, typer.Option("--agents", min=0, help="Node agents to start.")] = 2,
    slots: Annotated[int, typer.Option("--slots", min=1, help="Slots per agent.")] = 2,
    pool: Annotated[str, typer.Option("--pool", help="Pool of the agents.")] = "default",
    port: Annotated[int, typer.Option("--port", help="HTTP port of the runtime.")] = 7071,
    data_dir: DataDir = None,
    cloud_pool: Annotated[
        int,
        typer.Option(
            "--cloud-pool",
            min=0,
            max=64,
            help="Also a burstable pool `cloud` of up to N local "
            '"cloud" nodes (agent processes the burst controller starts when work queues up).',
        ),
    ] = 0,
    boot_delay: Annotated[
        float, typer.Option("--boot-delay", min=0, help="Seconds a local cloud node takes to boot.")
    ] = 0.0,
) -> None:
    """Start the local cluster in the background and print its URL."""
    directory = _data_dir(data_dir)
    running = ClusterState.load(directory)
    if running and any(_alive(pid) for pid in running.pids.values()):
        raise InvalidState(
            f"a cluster from {directory} is already running at {running.url}: `hpcburst down` first"
        )
    env = {ENV_LOCAL_BOOT_DELAY: f"{boot_delay:g}"} if boot_delay else None
    cluster = LocalCluster(directory, port=port, env=env)
    with console.status("starting Azurite, the runtime and the agents..."):
        state = cluster.start(agents=agents, slots=slots, pool=pool)
        if cloud_pool:
            cluster.create_cloud_pool("cloud", max_nodes=cloud_pool, slots=slots)
    console.print(
        f"cluster up at [bold]{state.url}[/bold] with {agents} agent(s) x {slots} slot(s); logs in {directory / 'logs'}"
    )
    console.print(f"  export {c.ENV_URL}={state.url}   # (the default, unless you changed --port)")
    if directory.resolve() != default_cluster_dir().resolve():
        token_file = directory / ADMIN_TOKEN_FILE
        console.print(
            f"  export {c.ENV_TOKEN}=$(cat {token_file})   # your admin token (found by itself by default)"
        )
    if cloud_pool:
        console.print(f"  burstable pool [bold]cloud[/bold]: up to {cloud_pool} local cloud node(s) x {slots} slot(s), "
                      "started when work queues up, gone after 60 s idle (`hpcburst burst status`)")  # fmt: skip
    console.print("  stop it with `hpcburst down`")


@friendly
def down(data_dir: DataDir = None) -> None:
    """Stop the local cluster started by `hpcburst up`."""
    directory = _data_dir(data_dir)
    if ClusterState.load(directory) is None:
        console.print(f"no cluster is running from {directory}")
        return
    LocalCluster(directory).stop()
    console.print("cluster stopped")
