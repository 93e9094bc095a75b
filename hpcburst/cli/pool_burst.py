"""The burst flags `pool create` and `pool set` share, and how a pool's burst settings read in a line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hpcburst.errors import InvalidSpec

Provisioner = Annotated[
    str | None, typer.Option("--provisioner", help="Who makes the pool's cloud nodes: local or azure.")
]
MinNodes = Annotated[int | None, typer.Option("--min", min=0, help="Nodes kept even when idle.")]
MaxNodes = Annotated[int | None, typer.Option("--max", min=0, help="Most nodes the pool may have.")]
Slots = Annotated[int | None, typer.Option("--slots", min=1, help="Indices each node runs at once.")]
VmSize = Annotated[str | None, typer.Option("--vm-size", help="Provisioner size (Standard_D4s_v5; local-N).")]
Spot = Annotated[
    bool | None, typer.Option("--spot/--regular", help="Spot (evictable, cheaper) or regular VMs.")
]
Price = Annotated[float | None, typer.Option("--price", min=0, help="Cost of one node for an hour, in $.")]
IdleTimeout = Annotated[
    float | None, typer.Option("--idle-timeout", min=0, help="Seconds idle before a node goes.")
]
BootTimeout = Annotated[
    float | None, typer.Option("--boot-timeout", min=1, help="Seconds a node may take to join.")
]
DelayAfterAdd = Annotated[
    float | None,
    typer.Option("--delay-after-add", min=0, help="Seconds after a node is added before any goes."),
]
Backoff = Annotated[
    float | None,
    typer.Option(
        "--backoff", min=0, help="Seconds without creates after a boot failure (doubles each time)."
    ),
]
CapHour = Annotated[
    float | None, typer.Option("--cap-hour", min=0, help="Most the pool may spend in an hour, $.")
]
CapMonth = Annotated[
    float | None, typer.Option("--cap-month", min=0, help="Most it may spend in 30 days, $.")
]


def burst_fields(
    current: dict[str, Any] | None,
    provisioner: str | None = None,
    min_nodes: int | None = None,
    max_nodes: int | None = None,
    slots: int | None = None,
    vm_size: str | None = None,
    spot: bool | None = None,
    price: float | None = None,
    idle_timeout: float | None = None,
    boot_timeout: float | None = None,
    delay_after_add: float | None = None,
    cap_hour: float | None = None,
    cap_month: float | None = None,
    backoff: float | None = None,
) -> dict[str, Any] | None:
    """The pool's burst settings after these flags (None: no flag given and none before)."""
    given = {
        "provisioner": provisioner, "min_nodes": min_nodes, "max_nodes": max_nodes, "slots_per_node": slots,
        "vm_size": vm_size, "spot": spot, "price_per_hour": price, "idle_timeout": idle_timeout,
        "boot_timeout": boot_timeout, "delay_after_add": delay_after_add, "cost_cap_per_hour": cap_hour,
        "cost_cap_per_month": cap_month, "backoff_base": backoff,
    }  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return current
    merged = {**(current or {}), **given}
    if "provisioner" not in merged:
        raise InvalidSpec("a burstable pool needs --provisioner local or --provisioner azure")
    return merged


def describe_burst(burst: dict[str, Any] | None) -> str:
    if not burst:
        return "no bursting"
    caps = [f"${burst[k]}/{unit}" for k, unit in (("cost_cap_per_hour", "h"), ("cost_cap_per_month", "month"))
            if burst.get(k) is not None]  # fmt: skip
    return (
        f"bursts with {burst['provisioner']}: {burst.get('min_nodes', 0)}-{burst.get('max_nodes')} "
        f"{'spot' if burst.get('spot') else 'regular'} nodes x {burst.get('slots_per_node')} slots"
        f"{' (' + burst['vm_size'] + ')' if burst.get('vm_size') else ''} at ${burst.get('price_per_hour')}/h, "
        f"idle {burst.get('idle_timeout'):.0f}s, boot {burst.get('boot_timeout'):.0f}s, "
        f"cap {', '.join(caps) or 'none'}"
    )
