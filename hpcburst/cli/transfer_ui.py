"""What the ``data`` and ``pkg`` commands share: the blob store from settings, error messages,
sizes as people type them, and rich progress bars fed by the transfer progress callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from hpcburst.data.progress import ProgressCallback, TransferProgress
from hpcburst.errors import HpcBurstError, InvalidSpec
from hpcburst.settings import Settings
from hpcburst.sizes import parse_size as parse_size  # re-exported for the data and pkg commands
from hpcburst.storage.blob.port import BlobStore

err_console = Console(stderr=True)


def blob_store_from_settings() -> BlobStore:
    """The configured storage (AzureWebJobsStorage, or HPCBURST_STORAGE_ACCOUNT_URL + azure-identity).

    With neither set, the storage of the local cluster ``hpcburst up`` started (its Azurite), so the
    data and pkg commands work right after ``up`` as the job commands do.
    """
    from hpcburst.client.local_cluster import local_storage_connection
    from hpcburst.storage.factory import build_blob_store

    settings = Settings.from_env()
    if not settings.storage_connection and not settings.storage_account_url:
        connection = local_storage_connection()
        if connection:
            settings = replace(settings, storage_connection=connection)
    return build_blob_store(settings)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Deliberate errors become one line naming the problem and exit code 1 (2 for bad input)."""
    try:
        yield
    except HpcBurstError as e:
        err_console.print(f"[red]error:[/red] {escape(e.message)}", highlight=False, markup=True)
        raise typer.Exit(code=2 if isinstance(e, InvalidSpec) else 1) from None
    except OSError as e:  # local files: permission denied, disk full, a directory where a file was expected
        err_console.print(f"[red]error:[/red] {e.strerror or e}: {e.filename or ''}", highlight=False)
        raise typer.Exit(code=1) from None


def parse_sizes(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


def parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidSpec(f"{what} {text!r}: use comma-separated whole numbers, e.g. 1,4,8") from None
    if not values or min(values) < 1:
        raise InvalidSpec(f"{what} {text!r}: use comma-separated whole numbers of at least 1, e.g. 1,4,8")
    return values


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """A transfer progress callback drawing one bar per blob (rate and ETA), or None when disabled."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def show(p: TransferProgress) -> None:
            if p.name not in tasks:
                tasks[p.name] = bars.add_task(p.name, total=p.total_bytes)
            bars.update(tasks[p.name], completed=p.done_bytes, total=p.total_bytes)

        yield show
