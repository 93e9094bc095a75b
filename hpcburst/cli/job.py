"""`hpcburst job submit|view|list|cancel|requeue|wait`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hpcburst.cli.common import console, dollars, err_console, friendly, scheduler, table, when
from hpcburst.client import Scheduler, command_line
from hpcburst.domain.states import JobState, TaskState
from hpcburst.errors import InvalidSpec

app = typer.Typer(no_args_is_help=True)

DONE_STATES = [s.value for s in TaskState if s.terminal]  # an index counts as done in the bar


@app.command(context_settings={"allow_interspersed_args": False})
@friendly
def submit(
    command: Annotated[
        list[str] | None, typer.Argument(help="The command line (after --); `*` is the index.")
    ] = None,
    xml: Annotated[
        Path | None,
        typer.Option("--xml", help="Submit an HPC Pack job XML file (- reads stdin) instead of a command."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Job name.")] = None,
    sweep: Annotated[str | None, typer.Option("--sweep", help="Parametric sweep START-END[:STEP].")] = None,
    priority: Annotated[
        str | None,
        typer.Option(
            "--priority",
            help="Lowest|BelowNormal|Normal|AboveNormal|Highest (default: the template's, else Normal).",
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", help="Job template whose defaults and limits apply (default: Default)."),
    ] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="Run only on nodes of this pool.")] = None,
    never_burst: Annotated[
        bool, typer.Option("--never-burst", help="Run on on-premises nodes only, never on cloud nodes.")
    ] = False,
    max_running: Annotated[
        int | None, typer.Option("--max-running", help="At most K indices at once.")
    ] = None,
    retries: Annotated[int, typer.Option("--retries", help="Re-runs of a failed index.")] = 0,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Max run time per index (seconds).")
    ] = None,
    stdout: Annotated[
        str | None, typer.Option("--stdout", help="Write stdout to this file (`*` = index).")
    ] = None,
    stderr: Annotated[
        str | None, typer.Option("--stderr", help="Write stderr to this file (`*` = index).")
    ] = None,
    workdir: Annotated[str | None, typer.Option("--workdir", help="Working directory (`*` = index).")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="K=V for the task (repeat).")] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", help="CONTAINER/BLOB=PATH: fetch a blob into the workdir first (`*` = index; repeat)."
        ),
    ] = None,
    outputs: Annotated[
        list[str] | None,
        typer.Option(
            "--output", help="PATTERN=CONTAINER/PATH: upload workdir files after (`*` = index; repeat)."
        ),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job, showing progress.")] = False,
    spec_file: Annotated[
        Path | None,
        typer.Option("--json", help="A whole job spec (JSON: several tasks, types, dependencies) instead."),
    ] = None,
) -> None:
    """Submit a job: one command, or a parametric sweep with `*` replaced by each index; or a job spec file
    (`--json job.json`) or an HPC Pack job XML file (`--xml job.xml`)."""
    if xml is not None:
        if command or spec_file is not None:
            raise InvalidSpec("give one of: a command (after --), --json FILE, --xml FILE", field="xml")
        _submit_xml(xml, wait)
        return
    if (spec_file is None) == (not command):
        raise InvalidSpec(
            "give a command (after --), --json FILE or --xml FILE: one of them", field="command"
        )
    with scheduler() as s:
        if spec_file is not None:
            job_id = s.submit_job(_spec_file(spec_file))
            console.print(f"submitted job [bold]{job_id}[/bold]")
            if wait:
                _exit_with(_wait(s, job_id))
            return
        assert command is not None
        job = s.create_job(
            name=name, priority=priority, pool=pool, never_burst=never_burst, template=template
        )
        job.add_task(
            s.create_task(
                command_line(command),
                sweep=sweep,
                max_running=max_running,
                retries=retries,
                max_run_time=timeout,
                stdout=stdout,
                stderr=stderr,
                workdir=workdir,
                environment=_env(env or []),
                input_files=[_pair(i, "--input", ("blob", "path")) for i in inputs or []] or None,
                output_files=[_pair(o, "--output", ("pattern", "blob")) for o in outputs or []] or None,
            )
        )
        job_id = s.submit_job(job)
        console.print(f"submitted job [bold]{job_id}[/bold]")
        if wait:
            _exit_with(_wait(s, job_id))


def _submit_xml(path: Path, wait: bool) -> None:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidSpec(f"cannot read {path}: {e}") from None
    with scheduler() as s:
        job_id, warnings = s.submit_xml(text)
        for warning in warnings:
            err_console.print(f"warning: {warning}")
        console.print(f"submitted job [bold]{job_id}[/bold] from {path}")
        if wait:
            _exit_with(_wait(s, job_id))


@app.command()
@friendly
def export(
    job: Annotated[str, typer.Argument(help="Job id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Write a job as HPC Pack job XML (what `job submit --xml` reads)."""
    with scheduler() as s:
        text = s.export_job(job)
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"job {job} written to {output}")


@app.command()
@friendly
def view(job: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Show a job: state, times, and how many indices are in each state."""
    with scheduler() as s:
        v = s.view_job(job)
    rows = [
        ("id", v.get("id")),
        ("name", v.get("name")),
        ("state", v.get("state")),
        ("priority", v.get("priority")),
        ("template", v.get("template")),
        ("pool", v.get("pool") or "any"),
        ("owner", v.get("owner")),
        ("indices", v.get("total")),
        ("submitted", when(v.get("submitted_at"))),
        ("started", when(v.get("started_at"))),
        ("ended", when(v.get("ended_at"))),
    ]
    if v.get("message"):
        rows.append(("message", v["message"]))
    for number, task in enumerate(v.get("tasks", []), start=1):
        sweep = task.get("sweep")
        span = f" [{sweep['start']}-{sweep['end']}:{sweep.get('step', 1)}]" if sweep else ""
        pin = f" (on node {task['node']})" if task.get("node") else ""  # clusrun
        kind = task.get("type") or ("ParametricSweep" if sweep else "Basic")
        label = f"task {number}" + (f" {task['name']}" if task.get("name") else "") + f" ({kind})"
        after = f" after {', '.join(task['depends_on'])}" if task.get("depends_on") else ""
        rows.append((label, f"{task.get('command')}{span}{pin}{after}"))
    steps = v.get("node_steps") or []
    if steps:
        rows.append(("node steps", ", ".join(
            f"{s.get('kind')} on {s.get('node')}: {'ok' if s.get('ok') else 'failed'}" for s in steps)))  # fmt: skip
    counts = v.get("counts") or {}
    rows.append(("counts", ", ".join(f"{k} {n}" for k, n in counts.items() if n) or "-"))
    if v.get("waiting_reason"):
        rows.append(("waiting", v["waiting_reason"]))
    rows.append(("cost", dollars(v.get("cost"))))  # its share of cloud node time; on premises is free
    console.print(table(("field", "value"), rows, title=f"job {job}"))


@app.command("list")
@friendly
def list_(
    state: Annotated[str | None, typer.Option("--state", help="Only jobs in this state.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (newest first).")] = 50,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only job ids, one a line (for scripts).")
    ] = False,
) -> None:
    """List jobs, newest first."""
    with scheduler() as s:
        jobs = s.list_jobs(state=state, limit=limit)
    if quiet:
        for j in jobs:
            print(j.get("id"))
        return
    rows = [(j.get("id"), j.get("name"), j.get("state"), j.get("priority"), j.get("total"), when(j.get("submitted_at")))
            for j in jobs]  # fmt: skip
    console.print(table(("id", "name", "state", "priority", "indices", "submitted"), rows))


@app.command()
@friendly
def cancel(
    job: Annotated[str, typer.Argument(help="Job id.")],
    force: Annotated[
        bool, typer.Option("--force", help="Do not run the job's NodeRelease on its nodes.")
    ] = False,
) -> None:
    """Cancel a job: queued indices are dropped, running ones killed; its NodeRelease runs unless --force."""
    with scheduler() as s:
        v = s.cancel_job(job, force=force)
    console.print(f"job {job}: {v.get('state', 'Canceled')}")


@app.command()
@friendly
def requeue(job: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Run the failed and canceled indices of a job again."""
    with scheduler() as s:
        v = s.requeue_job(job)
    console.print(f"job {job}: requeued {v.get('requeued', '?')} indices")


@app.command()
@friendly
def wait(
    job: Annotated[str, typer.Argument(help="Job id.")],
    timeout: Annotated[float | None, typer.Option("--timeout", help="Give up after SECS.")] = None,
) -> None:
    """Wait for a job to end, showing progress; exit 1 unless it Finished."""
    with scheduler() as s:
        _exit_with(_wait(s, job, timeout))


def _wait(s: Scheduler, job: str, timeout: float | None = None) -> dict[str, Any]:
    columns = (TextColumn("job {task.fields[job]} {task.fields[state]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("failed {task.fields[failed]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("", total=None, job=job, state="", failed=0)

        def show(v: dict[str, Any]) -> None:
            counts = v.get("counts") or {}
            done = sum(int(counts.get(k, 0)) for k in DONE_STATES)
            progress.update(bar, total=v.get("total"), completed=done, state=v.get("state"),
                            failed=counts.get("Failed", 0))  # fmt: skip

        return s.wait(job, timeout=timeout, on_progress=show)


def _exit_with(view: dict[str, Any]) -> None:
    state = view.get("state")
    console.print(f"job {view.get('id')} {state}" + (f": {view['message']}" if view.get("message") else ""))
    if state != JobState.FINISHED:
        raise typer.Exit(1)


def _spec_file(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InvalidSpec(f"--json {path}: {e}", field="json") from None
    if not isinstance(body, dict):
        raise InvalidSpec(f"--json {path}: a job spec is a JSON object", field="json")
    return body


def _env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidSpec(f"--env {pair!r}: use NAME=VALUE")
        env[key] = value
    return env


def _pair(text: str, flag: str, keys: tuple[str, str]) -> dict[str, str]:
    """``A=B`` of --input/--output as the staging spec's two fields."""
    left, sep, right = text.partition("=")
    if not sep or not left or not right:
        example = "hpc-data/rates.csv=rates.csv" if flag == "--input" else "out-***.png=hpc-output/render"
        raise InvalidSpec(f"{flag} {text!r}: expected {keys[0].upper()}={keys[1].upper()}, e.g. {example}")
    return {keys[0]: left, keys[1]: right}
