"""`hpcburst agent`: run a node agent in the foreground (the same service as `python -m nodeagent`)."""

from __future__ import annotations

import typer

from hpcburst.cli.common import friendly


@friendly
def agent(
    pool: str = typer.Option("default", "--pool", help="Node group this node belongs to."),
    slots: int = typer.Option(None, "--slots", min=1, help="Indices run at once (default: CPU count)."),
    node: str = typer.Option(None, "--node", help="Node name (default: host name)."),
    workdir: str = typer.Option(None, "--workdir", help="Root of task working directories."),
    url: str = typer.Option(None, "--url", envvar="HPCBURST_URL", help="The cluster's API URL."),
    cloud: bool = typer.Option(False, "--cloud", help="This node is a burst (cloud) worker."),
    join_token: str = typer.Option(
        None,
        "--join-token",
        envvar="HPCBURST_JOIN_TOKEN",
        help="The pool's join secret (`hpcburst pool join-token`).",
    ),
    insecure: bool = typer.Option(False, "--insecure", help="Allow a plain-http URL to another machine."),
    task_user: str = typer.Option(
        None, "--task-user", help="As root: the account tasks run as (default hpcburst-task, else nobody)."
    ),
    user_map: str = typer.Option(
        None, "--user-map", help="As root: file of hpcburst_user=local_account lines (who runs as whom)."
    ),
    keep_task_dirs: bool = typer.Option(
        False, "--keep-task-dirs", help="Keep each index's directory after it is reported (debugging)."
    ),
    scheduled_events_url: str = typer.Option(
        None, "--scheduled-events-url", help="The VM's scheduled-events URL (--cloud: Azure IMDS by default)."
    ),
    dead_man_minutes: float = typer.Option(
        None,
        "--dead-man-minutes",
        help="--cloud: stop after this long unable to reach the service (0: never).",
    ),
    on_dead_man: str = typer.Option(
        None, "--on-dead-man", help="Command run when the dead-man switch fires, e.g. 'shutdown -h now'."
    ),
    cache_max: str = typer.Option(
        None,
        "--cache-max",
        help="Most the input cache may hold, e.g. 20G: least recently used inputs go (never a running task's).",
    ),
) -> None:
    from nodeagent.main import make_config, serve

    serve(
        make_config(
            url,
            pool,
            slots,
            node,
            workdir,
            cloud,
            join_token=join_token,
            insecure=insecure,
            task_user=task_user,
            user_map=user_map,
            keep_task_dirs=keep_task_dirs,
            scheduled_events_url=scheduled_events_url,
            dead_man_minutes=dead_man_minutes,
            on_dead_man=on_dead_man,
            cache_max=cache_max,
        )  # fmt: skip
    )
