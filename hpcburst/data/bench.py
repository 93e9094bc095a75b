"""The throughput analyzer behind ``hpcburst data bench``: upload/download rates by size and concurrency.

Each measurement uses a fresh blob name (so no block is reused from an earlier run) and random,
incompressible data; blobs and local files are removed afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hpcburst.data.transfer_download import download
from hpcburst.data.transfer_upload import ensure_container, upload
from hpcburst.plotting import pyplot
from hpcburst.storage.blob.port import BlobStore

MiB = 1 << 20


@dataclass(frozen=True)
class BenchRow:
    direction: str  # "upload" | "download"
    size: int  # bytes
    concurrency: int
    seconds: float

    @property
    def mib_per_s(self) -> float:
        return self.size / MiB / self.seconds if self.seconds > 0 else 0.0


def write_random_file(path: Path, size: int, chunk: int = 4 * MiB) -> Path:
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(os.urandom(min(chunk, left)))
            left -= chunk
    return path


def run_bench(
    store: BlobStore,
    container: str,
    sizes: list[int],
    concurrencies: list[int],
    block_size: int,
    workdir: Path,
    on_row: Callable[[BenchRow], None] | None = None,
) -> list[BenchRow]:
    ensure_container(store, container)
    rows: list[BenchRow] = []
    run = uuid.uuid4().hex[:8]
    for size in sizes:
        source = write_random_file(workdir / f"bench-{run}-{size}.bin", size)
        try:
            for concurrency in concurrencies:
                blob = f"hpcburst-bench/{run}/{size}-{concurrency}.bin"
                up = upload(store, source, container, blob, block_size=block_size, concurrency=concurrency)
                back = workdir / f"bench-{run}-{size}-{concurrency}.out"
                down = download(store, container, blob, back, concurrency=concurrency, chunk_size=block_size)
                back.unlink()
                store.delete(container, blob)
                for row in (
                    BenchRow("upload", size, concurrency, up.seconds),
                    BenchRow("download", size, concurrency, down.seconds),
                ):
                    rows.append(row)
                    if on_row:
                        on_row(row)
        finally:
            source.unlink(missing_ok=True)
    return rows


def plot_bench(rows: list[BenchRow], path: Path, title: str = "hpcburst data bench") -> Path:
    """A PNG: MiB/s against concurrency, one line per size, upload and download side by side."""
    plt = pyplot()  # the optional [plots] extra: MissingExtra says what to install
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, direction in zip(axes, ("upload", "download"), strict=True):
        for size in sorted({r.size for r in rows}):
            points = sorted(
                (r.concurrency, r.mib_per_s) for r in rows if r.direction == direction and r.size == size
            )
            ax.plot([c for c, _ in points], [v for _, v in points], marker="o", label=_human(size))
        ax.set_title(direction)
        ax.set_xlabel("concurrency (parallel blocks)")
        ax.grid(True, alpha=0.3)
        ax.legend(title="file size")
    axes[0].set_ylabel("MiB/s")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"
