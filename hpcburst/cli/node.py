"""`hpcburst node list|offline|online`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from hpcburst.cli.common import console, friendly, scheduler, table

app = typer.Typer(no_args_is_help=True)
NodeName = Annotated[str, typer.Argument(help="Node name (see `hpcburst node list`).")]


@app.command("list")
@friendly
def list_() -> None:
    """Nodes with their pool, state, slots, running indices and last heartbeat."""
    with scheduler() as s:
        nodes = s.nodes()
    now = time.time()
    rows = [(n.get("name"), n.get("pool"), n.get("state"), n.get("slots"), n.get("running"),
             "cloud" if n.get("cloud") else "on-premises", _age(now - n.get("registered_at", now)),
             f"{n.get('alive_seconds_ago', '?')}s ago")
            for n in sorted(nodes, key=lambda n: (n.get("pool", ""), n.get("name", "")))]  # fmt: skip
    console.print(table(("node", "pool", "state", "slots", "running", "kind", "age", "heartbeat"), rows))


def _age(seconds: float) -> str:
    """Since the node (re)registered: 45s, 12m, 3h, 2d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


@app.command()
@friendly
def offline(node: NodeName) -> None:
    """Drain a node: it finishes what it runs and takes no new work."""
    with scheduler() as s:
        body = s.node_offline(node)
    console.print(f"node {node}: {body.get('state', 'Offline')}")


@app.command()
@friendly
def online(node: NodeName) -> None:
    """Let a node take work again."""
    with scheduler() as s:
        body = s.node_online(node)
    console.print(f"node {node}: {body.get('state', 'Online')}")
