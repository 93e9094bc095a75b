"""`hpcburst service register|list|show|remove` and `hpcburst session list|view|close`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from hpcburst.cli.common import console, friendly, table, when
from hpcburst.domain.soa.models import ServiceRegistration, SessionView
from hpcburst.errors import InvalidSpec
from hpcburst.soa.client import Client, connect

services = typer.Typer(no_args_is_help=True)
sessions = typer.Typer(no_args_is_help=True)
ServiceName = Annotated[str, typer.Argument(help="Service name.")]
SessionId = Annotated[str, typer.Argument(help="Session id.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table (for scripts).")]


def client() -> Client:
    return connect()  # HPCBURST_URL / HPCBURST_TOKEN, else the local cluster


# --- services ---
@services.command("register")
@friendly
def register(
    name: ServiceName,
    module: Annotated[str, typer.Option("--module", help="Python module with the operations (imported once per host).")],
    package: Annotated[str | None, typer.Option("--package", help="hpcburst package that holds the module.")] = None,
    operation_timeout: Annotated[float | None, typer.Option("--operation-timeout", help="Seconds per call.")] = None,
    resend_limit: Annotated[int, typer.Option("--resend-limit", help="Attempts before a request is a fault.")] = 3,
    max_concurrent: Annotated[int | None, typer.Option("--max-concurrent", help="Calls one host runs at once.")] = None,
    init_timeout: Annotated[float | None, typer.Option("--init-timeout", help="Seconds a host may take to start.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="K=V for the hosts (repeat).")] = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """(admins) Register a service, or replace its registration."""
    fields: dict[str, Any] = {"package": package, "operation_timeout": operation_timeout, "resend_limit": resend_limit,
                              "max_concurrent": max_concurrent, "init_timeout": init_timeout,
                              "environment": environment(env or [])}  # fmt: skip
    with client() as c:
        registration = c.register_service(name, module, **{k: v for k, v in fields.items() if v is not None})
    if as_json:
        _print_json(registration)
    else:
        console.print(
            f"service {registration.name} registered: module {registration.module}", highlight=False
        )


@services.command("list")
@friendly
def list_services(as_json: AsJson = False) -> None:
    """Registered services."""
    with client() as c:
        found = c.services()
    if as_json:
        _print_json(found)
        return
    rows = [
        (s.name, s.module, s.package, s.resend_limit, s.max_concurrent, s.operation_timeout) for s in found
    ]
    console.print(table(("service", "module", "package", "resend limit", "concurrent", "timeout (s)"), rows))


@services.command("show")
@friendly
def show_service(name: ServiceName, as_json: AsJson = False) -> None:
    """One service's registration."""
    with client() as c:
        s = c.service(name)
    if as_json:
        _print_json(s)
        return
    console.print(table(("field", "value"), service_rows(s), title=f"service {name}"))


@services.command("remove")
@friendly
def remove_service(name: ServiceName) -> None:
    """(admins) Remove a registration; open sessions of it end."""
    with client() as c:
        c.remove_service(name)
    console.print(f"service {name} removed")


# --- sessions ---
@sessions.command("list")
@friendly
def list_sessions(
    state: Annotated[str | None, typer.Option("--state", help="Only sessions in this state (Active, Closed...).")] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Everyone's sessions (admins).")] = False,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Your sessions (--all: everyone's)."""
    with client() as c:
        found = c.sessions(state=state, all_users=all_users)
    if as_json:
        _print_json(found)
        return
    console.print(table(("id", "service", "owner", "state", "kind", "units", "answered/submitted", "created"),
                        [session_row(v) for v in found]))  # fmt: skip


@sessions.command("view")
@friendly
def view_session(session_id: SessionId, as_json: AsJson = False) -> None:
    """A session's state, hosts, clients and request counts."""
    with client() as c:
        v = c.session_view(session_id)
    if as_json:
        _print_json(v)
        return
    console.print(table(("field", "value"), view_rows(v), title=f"session {session_id}"))


@sessions.command("close")
@friendly
def close_session(
    session_id: SessionId,
    purge: Annotated[bool, typer.Option("--purge", help="Also delete stored requests, responses and data now.")] = False,
) -> None:  # fmt: skip
    """End a session: its hosts stop; --purge deletes what it stored."""
    with client() as c:
        c.close_session(session_id, purge=purge)
    console.print(f"session {session_id} closed" + (" and purged" if purge else ""))


# --- what the commands print (plain functions: the tests read them) ---
def environment(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidSpec(f"--env {pair!r}: write NAME=VALUE", field="env")
        env[key] = value
    return env


def service_rows(s: ServiceRegistration) -> list[tuple[str, object]]:
    return [("module", s.module), ("package", s.package), ("operation timeout (s)", s.operation_timeout),
            ("resend limit", s.resend_limit), ("max concurrent", s.max_concurrent),
            ("init timeout (s)", s.init_timeout),
            ("environment", " ".join(f"{k}={v}" for k, v in s.environment.items()) or None),
            ("registered", f"{when(s.registered_at)} by {s.registered_by or '-'}")]  # fmt: skip


def session_row(v: SessionView) -> tuple[object, ...]:
    kind = "durable" if v.durable else "interactive"
    return (v.id, v.service, v.owner, v.state.value, kind, f"{v.units}/{v.target_units}",
            f"{v.counts.answered}/{v.counts.submitted}", when(v.created_at))  # fmt: skip


def view_rows(v: SessionView) -> list[tuple[str, object]]:
    c = v.counts
    bounds = f"{v.min_units}..{v.max_units if v.max_units is not None else 'backlog'}"
    return [("service", v.service), ("owner", v.owner), ("state", v.state.value + (f" ({v.reason})" if v.reason else "")),
            ("kind", "durable" if v.durable else "interactive"), ("priority", v.priority), ("pool", v.pool),
            ("units", f"{v.units} now, {v.target_units} wanted, {bounds}"),
            ("clients", ", ".join(v.clients) or None),
            ("requests", f"submitted {c.submitted}, pending {c.pending}, running {c.in_flight}, answered "
                         f"{c.answered} ({c.faulted} faulted), acknowledged {c.acknowledged}"),
            ("created", when(v.created_at)), ("closed", when(v.closed_at) if v.closed_at else None),
            ("timeouts (s)", f"client idle {v.client_idle_timeout:g}, session idle {v.session_idle_timeout:g}, "
                             f"responses kept {v.response_ttl:g}")]  # fmt: skip


def _print_json(value: BaseModel | list[Any]) -> None:
    if isinstance(value, list):
        print(json.dumps([v.model_dump(mode="json") for v in value], indent=2))
    else:
        print(value.model_dump_json(indent=2))
