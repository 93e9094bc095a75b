"""`hpcburst user add|list|remove`, `hpcburst token list|create|revoke`, `hpcburst whoami`."""

from __future__ import annotations

from typing import Annotated

import typer

from hpcburst.cli.common import console, err_console, friendly, scheduler, table, when

users = typer.Typer(no_args_is_help=True)
tokens = typer.Typer(no_args_is_help=True)
UserName = Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ + -).")]


def _show_secret(secret: str, what: str) -> None:
    """A secret goes to stdout alone (so `$(hpcburst user add ana)` captures it); the advice to stderr."""
    err_console.print(f"{what}; it is shown only this once, keep it safe (e.g. export HPCBURST_TOKEN=...)")
    print(secret)


@users.command("add")
@friendly
def add_user(
    name: UserName,
    admin: Annotated[
        bool, typer.Option("--admin", help="May manage users, pools and nodes, and sees every job.")
    ] = False,
) -> None:  # noqa: E501
    """Create a user and print their first API token."""
    with scheduler() as s:
        body = s.access.add_user(name, admin)
    _show_secret(body["token"], f"user {name} created{' (admin)' if admin else ''}; their token follows")


@users.command("list")
@friendly
def list_users() -> None:
    """Users, and who is an admin."""
    with scheduler() as s:
        rows = [(u["name"], "admin" if u.get("admin") else "user", when(u.get("created_at")), u.get("created_by"))
                for u in s.access.users()]  # fmt: skip
    console.print(table(("user", "role", "created", "by"), rows))


@users.command("remove")
@friendly
def remove_user(name: UserName) -> None:
    """Remove a user; every token of theirs stops working at once."""
    with scheduler() as s:
        s.access.remove_user(name)
    console.print(f"user {name} removed and their tokens revoked")


@tokens.command("list")
@friendly
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", help="(admins) another user's tokens.")] = None,
) -> None:  # noqa: E501
    """Your tokens (admins: anyone's, and node and join credentials too)."""
    with scheduler() as s:
        rows = [(t["id"], t["kind"], t["subject"], t.get("pool"), when(t.get("created_at")),
                 when(t.get("expires_at")), t.get("description")) for t in s.access.tokens(user)]  # fmt: skip
    console.print(table(("id", "kind", "subject", "pool", "created", "expires", "description"), rows))


@tokens.command("create")
@friendly
def create_token(
    user: Annotated[str | None, typer.Option("--user", help="(admins) for another user.")] = None,
    description: Annotated[str, typer.Option("--description", help="What the token is for.")] = "",
    expires_in: Annotated[
        float | None, typer.Option("--expires-in", help="Seconds until it expires.")
    ] = None,
) -> None:
    """Print a further API token (for a script or another machine)."""
    with scheduler() as s:
        body = s.access.create_token(user, description, expires_in)
    _show_secret(body["token"], f"token {body['record']['id']} created")


@tokens.command("revoke")
@friendly
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="Token id (see `hpcburst token list`).")],
) -> None:
    """Revoke a token: it stops working at once on this instance, within seconds everywhere."""
    with scheduler() as s:
        record = s.access.revoke_token(token_id)
    console.print(f"revoked {record['kind']} token {record['id']} of {record['subject']}")


@friendly
def whoami() -> None:
    """Who the cluster takes you for."""
    with scheduler() as s:
        me = s.access.whoami()
    console.print(f"{me['name']} ({'admin' if me.get('admin') else me['kind']}) at {s.url}")
