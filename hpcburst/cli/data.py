"""`hpcburst data`: upload, download and sync against blob storage, and the throughput analyzer.

Storage comes from the environment: ``AzureWebJobsStorage`` (connection string) or
``HPCBURST_STORAGE_ACCOUNT_URL`` with azure-identity. Remote locations are ``CONTAINER/PATH``.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hpcburst.cli.transfer_ui import (
    blob_store_from_settings,
    cli_errors,
    parse_ints,
    parse_size,
    parse_sizes,
    progress_bars,
)
from hpcburst.constants import BLOB_DATA
from hpcburst.data import DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY, download, sync_down, sync_up, upload
from hpcburst.data.bench import BenchRow, plot_bench, run_bench
from hpcburst.data.paths import BlobLocation, parse_location
from hpcburst.errors import InvalidSpec, NotFound
from hpcburst.plotting import pyplot

app = typer.Typer(no_args_is_help=True)
console = Console()

LocalArg = Annotated[Path, typer.Argument(metavar="LOCAL", help="local file (or directory for sync)")]
RemoteArg = Annotated[str, typer.Argument(metavar="CONTAINER/PATH", help="e.g. hpc-data/inputs/rates.csv")]
BlockSize = Annotated[str, typer.Option("--block-size", help="block size, e.g. 4MiB")]
Concurrency = Annotated[int, typer.Option("--concurrency", "-c", help="blocks in flight at once")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")]
DEFAULT_BLOCK = f"{DEFAULT_BLOCK_SIZE // (1 << 20)}MiB"


def _mib(n: float) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


@app.command("upload")
def upload_cmd(
    local: LocalArg,
    remote: RemoteArg,
    block_size: BlockSize = DEFAULT_BLOCK,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    compress: Annotated[bool, typer.Option("--compress", help="zlib-compress blocks that shrink")] = False,
    quiet: Quiet = False,
) -> None:
    """Upload LOCAL to CONTAINER/PATH (parallel blocks; re-running resumes and sends only changes)."""
    with cli_errors():
        loc = parse_location(remote)
        if not local.is_file():
            raise NotFound(f"local file {local} does not exist (for a directory use `hpcburst data sync`)")
        store = blob_store_from_settings()
        with progress_bars(not quiet) as progress:
            s = upload(
                store, local, loc.container, loc.path, parse_size(block_size), concurrency, compress, progress
            )
    console.print(
        f"uploaded {loc}: {_mib(s.size)} in {s.seconds:.1f}s ({_mib(s.rate)}/s); "
        f"sent {_mib(s.bytes_sent)}, {s.blocks_sent} blocks sent, {s.blocks_reused} reused; sha256 {s.sha256}"
    )


@app.command("download")
def download_cmd(
    source: Annotated[
        str, typer.Argument(metavar="CONTAINER/PATH", help="the blob, e.g. hpc-data/inputs/rates.csv")
    ],
    destination: Annotated[
        Path, typer.Argument(metavar="LOCAL", help="local file, or a directory to put it in")
    ],
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    quiet: Quiet = False,
) -> None:
    """Download CONTAINER/PATH to LOCAL (source then destination, as cp, scp and azcopy; parallel ranges,
    every block checked against its sha256; re-running after an interruption resumes)."""
    with cli_errors():
        loc = _source_blob(source, destination)
        store = blob_store_from_settings()
        target = destination / loc.path.rsplit("/", 1)[-1] if destination.is_dir() else destination
        try:
            with progress_bars(not quiet) as progress:
                s = download(store, loc.container, loc.path, target, concurrency, progress)
        except NotFound as e:
            raise NotFound(f"{e.message}{_swapped_hint(source, destination)}") from e
    check = "verified sha256 " + s.sha256 if s.verified else "not verified (no hpcburst manifest)"
    console.print(f"downloaded {loc} -> {target}: {_mib(s.size)} in {s.seconds:.1f}s; {check}")


def _source_blob(source: str, destination: Path) -> BlobLocation:
    """The blob to download; arguments that look swapped (LOCAL CONTAINER/PATH, the old order) say so."""
    if Path(source).exists() and _is_location(str(destination)):
        raise InvalidSpec(f"{source!r} is a local path{_swapped_hint(source, destination)}")
    try:
        return parse_location(source)
    except InvalidSpec as e:
        raise InvalidSpec(f"{e.message}{_swapped_hint(source, destination)}") from e


def _swapped_hint(source: str, destination: Path) -> str:
    if not _is_location(str(destination)):
        return ""
    again = f"hpcburst data download {shlex.quote(str(destination))} {shlex.quote(source)}"
    return f"; arguments are SOURCE DESTINATION: did you mean `{again}`?"


def _is_location(text: str) -> bool:
    try:
        parse_location(text)
    except InvalidSpec:
        return False
    return not Path(text).exists()


@app.command("sync")
def sync_cmd(
    local: LocalArg,
    remote: RemoteArg,
    down: Annotated[
        bool, typer.Option("--down", help="blob prefix -> LOCAL (default: LOCAL -> blob prefix)")
    ] = False,
    delete: Annotated[bool, typer.Option("--delete", help="remove what the source no longer has")] = False,
    block_size: BlockSize = DEFAULT_BLOCK,
    concurrency: Concurrency = DEFAULT_CONCURRENCY,
    quiet: Quiet = False,
) -> None:
    """Make CONTAINER/PATH mirror directory LOCAL (or LOCAL mirror the blobs with --down)."""
    with cli_errors():
        loc = parse_location(remote, need_path=False)
        store = blob_store_from_settings()
        with progress_bars(not quiet) as progress:
            if down:
                r = sync_down(store, loc.container, loc.path, local, delete, concurrency, progress)
            else:
                r = sync_up(store, local, loc.container, loc.path, delete, parse_size(block_size), concurrency, False, progress)  # fmt: skip
    console.print(
        f"synced {'blobs -> ' + str(local) if down else str(local) + ' -> ' + str(loc)}: "
        f"{len(r.transferred)} copied, {len(r.skipped)} unchanged, {len(r.deleted)} deleted, "
        f"{_mib(r.bytes_transferred)} transferred"
    )


@app.command("bench")
def bench_cmd(
    sizes: str = typer.Option("16MiB,64MiB", "--sizes", help="file sizes, comma-separated"),
    concurrency: str = typer.Option(
        "1,4,8", "--concurrency", "-c", help="concurrency levels, comma-separated"
    ),
    block_size: BlockSize = DEFAULT_BLOCK,
    container: Annotated[str, typer.Option("--container", help="container for the test blobs")] = BLOB_DATA,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG plot here")] = None,
) -> None:
    """Throughput analyzer: upload/download MiB/s across sizes and concurrency on the configured storage."""
    with cli_errors():
        size_list, conc_list = parse_sizes(sizes), parse_ints(concurrency, "concurrency")
        if plot is not None:
            pyplot()  # the optional [plots] extra: say so before the bench, not after
        parse_location(f"{container}/x")  # a clear error for a bad container name
        store = blob_store_from_settings()
        table = Table("direction", "size", "concurrency", "seconds", "MiB/s", title="blob throughput")

        def add(row: BenchRow) -> None:
            table.add_row(
                row.direction,
                _mib(row.size),
                str(row.concurrency),
                f"{row.seconds:.2f}",
                f"{row.mib_per_s:.1f}",
            )
            console.print(
                f"{row.direction:8} {_mib(row.size):>12} x{row.concurrency:<3} {row.mib_per_s:8.1f} MiB/s"
            )

        with tempfile.TemporaryDirectory(prefix="hpcburst-bench-") as tmp:
            rows = run_bench(store, container, size_list, conc_list, parse_size(block_size), Path(tmp), add)
    console.print(table)
    if plot is not None:
        console.print(f"plot written to {plot_bench(rows, plot)}")
