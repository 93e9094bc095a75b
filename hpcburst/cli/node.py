"""`hpcburst node list|offline|online|start|stop`.

``start``/``stop`` are the manual burst: ``node start POOL --count N`` creates N cloud nodes now (within the
pool's max_nodes and cost caps); ``node stop NAME...`` drains them (running indices finish) and then deletes
them, ``--now`` deletes at once and puts their running indices back in the queue (not counted as failures).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from hpcburst.cli.common import console, friendly, scheduler, table

app = typer.Typer(no_args_is_help=True)
NodeName = Annotated[str, typer.Argument(help="Node name (see `hpcburst node list`).")]


@app.command("list")
@friendly
def list_(
    stopped: Annotated[bool, typer.Option("--stopped", help="Also list cloud nodes stopped lately.")] = False,
) -> None:
    """Nodes: kind (on-premises or cloud), state, pool, slots, running indices, age, cost rate, heartbeat.

    Cloud nodes show their lifecycle state (Provisioning, Online, Offline, Draining, Deleting, Stopped, Failed)."""
    with scheduler() as s:
        registered, cloud = s.node_list()
    console.print(table(COLUMNS, node_rows(registered, cloud, stopped, time.time())))


COLUMNS = ("node", "kind", "state", "pool", "slots", "running", "age", "$/h", "heartbeat")


def node_rows(
    registered: list[dict[str, Any]], cloud: list[dict[str, Any]], stopped: bool, now: float
) -> list[tuple[Any, ...]]:
    """One row per node: registered ones as they heartbeat (a cloud node's state is its lifecycle state),
    then cloud nodes not registered (booting, failed, deleting; stopped ones with ``stopped``)."""
    lifecycle = {n["name"]: n for n in cloud if n.get("state") != "Stopped"}
    rows: list[tuple[Any, ...]] = []
    for n in sorted(registered, key=lambda n: (n.get("pool", ""), n.get("name", ""))):
        life = lifecycle.pop(n.get("name"), None)
        state = n.get("state")
        if life is not None and state != "Unreachable":
            state = life.get("state")
        rate = life.get("price_per_hour") if life else None
        rows.append((n.get("name"), "cloud" if n.get("cloud") else "on-premises", state, n.get("pool"), n.get("slots"),
                     n.get("running"), _age(now - n.get("registered_at", now)), _rate(rate),
                     f"{n.get('alive_seconds_ago', '?')}s ago"))  # fmt: skip
    shown = list(lifecycle.values()) + ([n for n in cloud if n.get("state") == "Stopped"] if stopped else [])
    for n in shown:
        age = _age(now - n["created_at"]) if n.get("created_at") else None
        rows.append((n["name"], "cloud", n.get("state"), n.get("pool"), None, None, age,
                     _rate(n.get("price_per_hour")), n.get("cause")))  # fmt: skip
    return rows


def _rate(price: float | None) -> str | None:
    return None if price is None else f"${price:.2f}"


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


@app.command()
@friendly
def start(
    pool: Annotated[str, typer.Argument(help="A burstable pool (see `hpcburst pool list`).")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000, help="How many cloud nodes.")] = 1,
) -> None:
    """Start cloud nodes now (the manual burst), within the pool's max_nodes and cost caps.

    The burst policy never scales these down: `hpcburst node stop NAME` does."""
    with scheduler() as s:
        names = s.start_nodes(pool, count)
    console.print(f"starting {len(names)} node(s) in {pool}: {', '.join(names)}")
    console.print("  watch them boot with `hpcburst node list`")


@app.command()
@friendly
def stop(
    nodes: Annotated[list[str], typer.Argument(help="Cloud node names (see `hpcburst node list`).")],
    now: Annotated[
        bool, typer.Option("--now", help="Delete at once; running indices go back to the queue.")
    ] = False,
) -> None:
    """Stop cloud nodes: drain (running indices finish), then delete; billing ends at the delete."""
    with scheduler() as s:
        outcome = s.stop_nodes(nodes, now=now)
    for name, what in outcome.items():
        console.print(
            f"node {name}: {what}"
            + (" (deleted once its running indices finish)" if what == "draining" else "")
        )
