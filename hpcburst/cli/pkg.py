"""`hpcburst pkg`: application packages (hpcpack) — create, upload, list, remove — and `pkg sync` (hpcsync).

Packages live in blob storage (container ``hpc-packages``); nodes install them under
``CCP_PACKAGE_ROOT``. Storage comes from ``AzureWebJobsStorage`` or ``HPCBURST_STORAGE_ACCOUNT_URL``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hpcburst.cli.transfer_ui import blob_store_from_settings, cli_errors, err_console
from hpcburst.data.package_install import PackageInstaller
from hpcburst.data.packages import check_name, create_package, list_packages, remove_package, upload_package
from hpcburst.errors import ConfigError

app = typer.Typer(no_args_is_help=True)
console = Console()

Name = Annotated[str, typer.Argument(metavar="NAME", help="package name, e.g. solver")]
Pool = Annotated[str | None, typer.Option("--pool", help="only nodes of this pool install it (default: all)")]


@app.command("create")
def create_cmd(
    name: Name,
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="directory to package")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="zip to write (default: NAME.zip)")
    ] = None,
) -> None:
    """Zip DIR into NAME.zip, ready for `pkg upload NAME`."""
    with cli_errors():
        archive = create_package(name, directory, output)
    console.print(f"created {archive} ({archive.stat().st_size:,} bytes); next: hpcburst pkg upload {name}")


@app.command("upload")
def upload_cmd(
    name: Name,
    pool: Pool = None,
    relative_path: Annotated[
        str | None, typer.Option("--relative-path", help="install dir under CCP_PACKAGE_ROOT (default: NAME)")
    ] = None,
    archive: Annotated[
        Path | None, typer.Option("--zip", help="archive to upload (default: NAME.zip)")
    ] = None,
) -> None:
    """Store NAME.zip as the next version of package NAME."""
    with cli_errors():
        store = blob_store_from_settings()
        record = upload_package(store, name, archive or Path(f"{check_name(name)}.zip"), pool, relative_path)
    console.print(
        f"uploaded {record.name} version {record.version} for {record.pool or 'every pool'} "
        f"-> CCP_PACKAGE_ROOT/{record.install_dir} (sha256 {record.sha256[:12]})"
    )


@app.command("list")
def list_cmd(
    name: Annotated[str | None, typer.Argument(metavar="[NAME]", help="one package only")] = None,
) -> None:
    """List package versions in the registry."""
    with cli_errors():
        records = list_packages(blob_store_from_settings(), name)
    table = Table("name", "version", "pool", "installs to", "size", "sha256", "uploaded (UTC)")
    for r in records:
        when = datetime.fromtimestamp(r.uploaded_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            r.name, str(r.version), r.pool or "*", r.install_dir, f"{r.size:,}", r.sha256[:12], when
        )
    console.print(table if records else "no packages (add one with `hpcburst pkg create` + `pkg upload`)")


@app.command("remove")
def remove_cmd(
    name: Name,
    version: Annotated[int | None, typer.Option("--version", help="remove only this version")] = None,
) -> None:
    """Remove package NAME (all versions, or one with --version); nodes go back to the newest left on sync."""
    with cli_errors():
        removed = remove_package(blob_store_from_settings(), check_name(name), version)
    console.print(f"removed {name} version(s) {', '.join(str(r.version) for r in removed)}")


@app.command("sync")
def sync_cmd(
    pool: Pool = None,
    root: Annotated[
        Path | None, typer.Option("--root", help="package root (default: $CCP_PACKAGE_ROOT)")
    ] = None,
) -> None:
    """Install the newest version of every package for this node's pool (hpcsync)."""
    with cli_errors():
        target = root or (
            Path(os.environ["CCP_PACKAGE_ROOT"]) if os.environ.get("CCP_PACKAGE_ROOT") else None
        )
        if target is None:
            raise ConfigError("no package root: pass --root DIR or set CCP_PACKAGE_ROOT")
        report = PackageInstaller(target, blob_store_from_settings()).sync(pool)
    for name, version in report.installed:
        console.print(f"installed {name} version {version} under {target}")
    for name, version in report.current:
        console.print(f"{name} version {version} is current")
    for name, version, reason in report.failed:
        err_console.print(f"[red]failed[/red] {name} version {version}: {reason} (previous version kept)")
    if not report.ok:
        raise typer.Exit(code=1)
