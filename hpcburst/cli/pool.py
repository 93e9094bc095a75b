"""`hpcburst pool create|list|show|set|delete|join-token` (admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from hpcburst.cli import pool_burst as b
from hpcburst.cli.common import console, err_console, friendly, scheduler, table, when

app = typer.Typer(no_args_is_help=True)
PoolName = Annotated[str, typer.Argument(help="Pool name.")]
Workdirs = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-workdir", help="An absolute path tasks may use as their workdir (repeat for more)."
    ),
]


def _show(pool: dict[str, object]) -> None:
    workdirs = ", ".join(pool.get("allowed_workdirs") or []) or "-"  # type: ignore[arg-type]
    console.print(
        f"pool {pool['name']}: allowed absolute workdirs {workdirs}; "
        f"{b.describe_burst(pool.get('burst'))}; {pool.get('description') or ''}",  # type: ignore[arg-type]
        highlight=False,
        soft_wrap=True,  # one line per pool, whatever the terminal's width (scripts grep it)
    )


@app.command("create")
@friendly
def create(name: PoolName, allow_workdir: Workdirs = None,
           description: Annotated[str, typer.Option("--description")] = "",
           provisioner: b.Provisioner = None, min_nodes: b.MinNodes = None, max_nodes: b.MaxNodes = None,
           slots: b.Slots = None, vm_size: b.VmSize = None, spot: b.Spot = None, price: b.Price = None,
           idle_timeout: b.IdleTimeout = None, boot_timeout: b.BootTimeout = None,
           delay_after_add: b.DelayAfterAdd = None, cap_hour: b.CapHour = None,
           cap_month: b.CapMonth = None, backoff: b.Backoff = None) -> None:  # fmt: skip
    """Create a pool; nodes join it with a join token. With --provisioner it can burst into the cloud."""
    burst = b.burst_fields(None, provisioner, min_nodes, max_nodes, slots, vm_size, spot, price, idle_timeout,
                           boot_timeout, delay_after_add, cap_hour, cap_month, backoff)  # fmt: skip
    with scheduler() as s:
        _show(s.access.create_pool(name, allow_workdir, description, burst))


@app.command("list")
@friendly
def list_() -> None:
    """Pools and their settings."""
    with scheduler() as s:
        rows = [(p["name"], ", ".join(p.get("allowed_workdirs") or []), b.describe_burst(p.get("burst")),
             when(p.get("created_at")), p.get("description")) for p in s.access.pools()]  # fmt: skip
    console.print(table(("pool", "allowed workdirs", "burst", "created", "description"), rows))


@app.command("show")
@friendly
def show(name: PoolName) -> None:
    with scheduler() as s:
        _show(s.access.pool(name))


@app.command("set")
@friendly
def set_(
    name: PoolName,
    allow_workdir: Workdirs = None,
    clear_workdirs: Annotated[
        bool, typer.Option("--clear-workdirs", help="Allow no absolute workdir.")
    ] = False,
    description: Annotated[str | None, typer.Option("--description")] = None,
    provisioner: b.Provisioner = None,
    min_nodes: b.MinNodes = None,
    max_nodes: b.MaxNodes = None,
    slots: b.Slots = None,
    vm_size: b.VmSize = None,
    spot: b.Spot = None,
    price: b.Price = None,
    idle_timeout: b.IdleTimeout = None,
    boot_timeout: b.BootTimeout = None,
    delay_after_add: b.DelayAfterAdd = None,
    cap_hour: b.CapHour = None,
    cap_month: b.CapMonth = None,
    backoff: b.Backoff = None,
    no_burst: Annotated[
        bool, typer.Option("--no-burst", help="Stop bursting (drop the burst settings).")
    ] = False,
) -> None:
    """Change a pool: --allow-workdir replaces the list of allowed absolute workdirs; burst flags change
    only the settings they name."""
    fields: dict[str, object] = {}
    if allow_workdir or clear_workdirs:
        fields["allowed_workdirs"] = [] if clear_workdirs else allow_workdir
    if description is not None:
        fields["description"] = description
    with scheduler() as s:
        current = s.access.pool(name).get("burst")
        burst = b.burst_fields(current, provisioner, min_nodes, max_nodes, slots, vm_size, spot, price,
                               idle_timeout, boot_timeout, delay_after_add, cap_hour, cap_month, backoff)  # fmt: skip
        if no_burst:
            fields["no_burst"] = True
        elif burst != current:
            fields["burst"] = burst
        _show(s.access.change_pool(name, **fields))


@app.command("delete")
@friendly
def delete(name: PoolName) -> None:
    """Delete a pool and revoke its join tokens (registered nodes keep their own credentials)."""
    with scheduler() as s:
        s.access.delete_pool(name)
    console.print(f"pool {name} deleted")


@app.command("join-token")
@friendly
def join_token(
    name: PoolName,
    revoke_others: Annotated[
        bool, typer.Option("--revoke-others", help="Retire this pool's earlier join tokens.")
    ] = False,  # noqa: E501
) -> None:
    """Print a new join token: `hpcburst agent --pool POOL --join-token TOKEN` joins a node."""
    with scheduler() as s:
        secret = s.access.join_token(name, revoke_others)
    err_console.print(
        f"join token for pool {name}; shown only this once (agents take it as HPCBURST_JOIN_TOKEN)"
    )
    print(secret)
