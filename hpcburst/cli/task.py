"""`hpcburst task view JOB.INDEX`: one index's state, node, exit code and output."""

from __future__ import annotations

from typing import Annotated

import typer

from hpcburst.cli.common import console, friendly, scheduler, table, when
from hpcburst.errors import InvalidSpec, NotFound

app = typer.Typer(no_args_is_help=True)


def split_ref(ref: str) -> tuple[str, str]:
    """JOB.INDEX or JOB.TASK.INDEX -> (job, "INDEX" | "TASK.INDEX")."""
    job, sep, rest = ref.partition(".")
    if not sep or not job or not rest:
        raise InvalidSpec(f"{ref!r}: name the index as JOB.INDEX (e.g. 12.7) or JOB.TASK.INDEX")
    return job, rest


@app.command()
@friendly
def view(
    ref: Annotated[str, typer.Argument(help="JOB.INDEX (or JOB.TASK.INDEX).")],
    output: Annotated[bool, typer.Option("--output/--no-output", help="Show stdout and stderr.")] = True,
    everything: Annotated[
        bool, typer.Option("--all", help="Show all of a long output (default: its first page, 8 MiB).")
    ] = False,
) -> None:
    """Show one index: state, node, exit code, times and its stdout/stderr."""
    job, index = split_ref(ref)
    with scheduler() as s:
        t = s.view_task(job, index)
        streams: dict[str, bytes] = {}
        notes: dict[str, str] = {}
        if output:
            for stream in ("stdout", "stderr"):
                try:
                    if everything:
                        streams[stream] = s.task_output(job, index, stream) if t.get(stream) else b""
                        continue
                    page = s.task_output_page(job, index, stream) if t.get(stream) else None
                    streams[stream] = page.data if page else b""
                    if page and page.truncated:
                        notes[stream] = f"(first {len(page.data)} of {page.size} bytes; --all shows the rest)"
                except NotFound:
                    streams[stream] = b""
    rows = [
        ("id", t.get("id")),
        ("command", t.get("command")),
        ("state", t.get("state")),
        ("node", t.get("node")),
        ("exit code", t.get("exit_code")),
        ("attempt", t.get("attempt")),
        ("retries", t.get("retry_count", 0)),
        ("started", when(t.get("started_at"))),
        ("ended", when(t.get("ended_at"))),
    ]
    if t.get("timed_out"):
        rows.append(("timed out", "yes"))
    if t.get("message"):
        rows.append(("message", t["message"]))
    console.print(table(("field", "value"), rows, title=f"task {ref}"))
    for stream, data in streams.items():
        console.rule(stream)
        console.out(data.decode(errors="replace").rstrip("\n") if data else "(empty)", highlight=False)
        if stream in notes:
            console.print(notes[stream])
