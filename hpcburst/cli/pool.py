"""`hpcburst pool create|list|show|set|delete|join-token` (admins)."""

from __future__ import annotations

from typing import Annotated

import typer

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
        f"pool {pool['name']}: allowed absolute workdirs {workdirs}; {pool.get('description') or ''}"
    )


@app.command("create")
@friendly
def create(name: PoolName, allow_workdir: Workdirs = None,
           description: Annotated[str, typer.Option("--description")] = "") -> None:  # fmt: skip
    """Create a pool; nodes join it with a join token."""
    with scheduler() as s:
        _show(s.access.create_pool(name, allow_workdir, description))


@app.command("list")
@friendly
def list_() -> None:
    """Pools and their settings."""
    with scheduler() as s:
        rows = [(p["name"], ", ".join(p.get("allowed_workdirs") or []), when(p.get("created_at")), p.get("description"))
                for p in s.access.pools()]  # fmt: skip
    console.print(table(("pool", "allowed workdirs", "created", "description"), rows))


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
) -> None:
    """Change a pool: --allow-workdir replaces the list of allowed absolute workdirs."""
    fields: dict[str, object] = {}
    if allow_workdir or clear_workdirs:
        fields["allowed_workdirs"] = [] if clear_workdirs else allow_workdir
    if description is not None:
        fields["description"] = description
    with scheduler() as s:
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
