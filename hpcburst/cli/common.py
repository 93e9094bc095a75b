"""What every `hpcburst` command shares: the SDK handle, one-line errors, tables."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hpcburst.client import Scheduler
from hpcburst.errors import HpcBurstError

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def scheduler() -> Scheduler:
    return Scheduler.connect()  # HPCBURST_URL, else http://127.0.0.1:7071


def friendly(fn: Callable[P, R]) -> Callable[P, R]:
    """Errors become one line on stderr (exit 1), never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except HpcBurstError as e:
            err_console.print(f"[red]error:[/red] {escape(e.message or type(e).__name__)}", highlight=False)
        except TimeoutError as e:
            err_console.print(f"[red]error:[/red] {e}", highlight=False)
        except OSError as e:  # local files (`up --data-dir` unwritable...): as the data commands say it
            err_console.print(f"[red]error:[/red] {e.strerror or e}: {e.filename or ''}", highlight=False)
        except KeyboardInterrupt:
            err_console.print("interrupted")
        raise typer.Exit(1)

    return wrapper


def when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S") if epoch else "-"


def dollars(amount: float | None) -> str:
    # four decimals: a minute of a $0.10/h node is $0.0017, which two would show as nothing
    return "-" if amount is None else f"${amount:,.4f}"


def table(columns: Iterable[str], rows: Iterable[Iterable[Any]], title: str | None = None) -> Table:
    t = Table(title=title, header_style="bold")
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*("-" if v is None else str(v) for v in row))
    return t
