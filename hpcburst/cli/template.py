"""`hpcburst template create|list|show|delete`: job templates, HPC Pack's named defaults and limits."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hpcburst.cli.common import console, friendly, scheduler, table

app = typer.Typer(no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="Template name (`Default` applies to jobs that name none).")]


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


@app.command()
@friendly
def create(
    name: Name,
    description: Annotated[str, typer.Option("--description", help="What the template is for.")] = "",
    priority: Annotated[str | None, typer.Option("--priority", help="Default priority.")] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="Default pool.")] = None,
    run_time: Annotated[
        float | None, typer.Option("--run-time", help="Default run-time limit per index, seconds.")
    ] = None,
    allowed_priorities: Annotated[
        str | None,
        typer.Option("--allowed-priorities", help="Limit: priorities a job may ask for, e.g. Lowest,Normal."),
    ] = None,
    max_indices: Annotated[
        int | None, typer.Option("--max-indices", min=1, help="Limit: most indices per job.")
    ] = None,
    max_runtime: Annotated[
        float | None, typer.Option("--max-runtime", help="Limit: longest run time per index, seconds.")
    ] = None,
    allowed_pools: Annotated[
        str | None, typer.Option("--allowed-pools", help="Limit: pools a job may name, a,b.")
    ] = None,
) -> None:
    """(admins) Create a job template: defaults a job gets, limits it must keep (a job breaking one is refused)."""
    with scheduler() as s:
        made = s.create_template(name, description=description or None, priority=priority, pool=pool,
                                 max_run_time=run_time, allowed_priorities=_csv(allowed_priorities),
                                 max_indices=max_indices, max_runtime=max_runtime,
                                 allowed_pools=_csv(allowed_pools))  # fmt: skip
    console.print(
        f"template {made['name']} created; jobs use it with `hpcburst job submit --template {name}`"
    )


@app.command("list")
@friendly
def list_() -> None:
    """Job templates with their defaults and limits."""
    with scheduler() as s:
        templates = s.templates()
    console.print(table(("template", "defaults", "limits", "description"),
                        [(t["name"], _defaults(t), _limits(t), t.get("description") or None) for t in templates]))  # fmt: skip


@app.command()
@friendly
def show(name: Name) -> None:
    """One job template."""
    with scheduler() as s:
        t = s.template(name)
    rows = [("name", t["name"]), ("description", t.get("description") or None), ("defaults", _defaults(t)),
            ("limits", _limits(t))]  # fmt: skip
    console.print(table(("field", "value"), rows, title=f"template {name}"))


@app.command()
@friendly
def delete(name: Name) -> None:
    """(admins) Delete a job template (jobs already submitted keep what it gave them)."""
    with scheduler() as s:
        s.delete_template(name)
    console.print(f"template {name} deleted")


def _defaults(t: dict[str, Any]) -> str:
    parts = [f"priority {t['priority']}" if t.get("priority") else "",
             f"pool {t['pool']}" if t.get("pool") else "",
             f"run time {t['max_run_time']:g} s" if t.get("max_run_time") else ""]  # fmt: skip
    return ", ".join(p for p in parts if p) or "-"


def _limits(t: dict[str, Any]) -> str:
    parts = [f"priorities {','.join(t['allowed_priorities'])}" if t.get("allowed_priorities") else "",
             f"at most {t['max_indices']} indices" if t.get("max_indices") else "",
             f"at most {t['max_runtime']:g} s per index" if t.get("max_runtime") else "",
             f"pools {','.join(t['allowed_pools'])}" if t.get("allowed_pools") else ""]  # fmt: skip
    return ", ".join(p for p in parts if p) or "-"
