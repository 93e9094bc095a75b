"""Transfers that really die half-way: run as a script, the child SIGKILLs itself at a given progress.

Test and bench code, not part of the package: ``tests/data/test_resume.py`` and ``bench/transfer.py`` use it
to interrupt a transfer the way a crash or a pulled plug does (no cleanup, requests cut mid-block), instead
of a polite exception. When the transfer's progress reaches FRACTION, the child writes a JSON report and
kills itself: ``done_bytes`` finished blocks, and ``sent_upper_bound`` = finished bytes plus what the workers
could have been moving at that instant (at most one block per worker).

Usage: python tests/data/transfer_kill.py upload|download CONNECTION_STRING LOCAL CONTAINER PATH BLOCK_SIZE
       CONCURRENCY FRACTION REPORT
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hpcburst.data.progress import TransferProgress
from hpcburst.data.transfer_download import download
from hpcburst.data.transfer_upload import upload
from hpcburst.storage.blob.azure import AzureBlobStore


@dataclass(frozen=True)
class KilledTransfer:
    done_bytes: int
    sent_upper_bound: int  # for a download: bytes received, at most
    returncode: int


def upload_and_kill(
    connection_string: str,
    local: Path,
    container: str,
    path: str,
    block_size: int,
    concurrency: int,
    fraction: float,
    report: Path,
) -> KilledTransfer:
    """Run the dying upload in a child process and return what it managed before SIGKILL."""
    return _run(
        "upload", connection_string, local, container, path, block_size, concurrency, fraction, report
    )


def download_and_kill(
    connection_string: str,
    container: str,
    path: str,
    local: Path,
    chunk_size: int,
    concurrency: int,
    fraction: float,
    report: Path,
) -> KilledTransfer:
    """Run the dying download in a child process and return what it managed before SIGKILL."""
    return _run(
        "download", connection_string, local, container, path, chunk_size, concurrency, fraction, report
    )


def _run(
    direction: str,
    connection_string: str,
    local: Path,
    container: str,
    path: str,
    block_size: int,
    concurrency: int,
    fraction: float,
    report: Path,
) -> KilledTransfer:
    args = [direction, connection_string, str(local), container, path, str(block_size), str(concurrency)]
    proc = subprocess.run([sys.executable, __file__, *args, str(fraction), str(report)], timeout=600)
    body = json.loads(report.read_text())
    return KilledTransfer(body["done_bytes"], body["sent_upper_bound"], proc.returncode)


def main(argv: list[str]) -> None:
    direction, conn, local, container, path, block, conc, fraction, report = argv
    block_size, concurrency = int(block), int(conc)

    def die_at_fraction(p: TransferProgress) -> None:
        if p.fraction >= float(fraction):
            in_flight = min(p.in_flight_bytes, concurrency * block_size)
            body = {"done_bytes": p.done_bytes, "sent_upper_bound": p.transferred_bytes + in_flight}
            Path(report).write_text(json.dumps(body))
            os.kill(os.getpid(), signal.SIGKILL)

    store = AzureBlobStore.from_connection_string(conn)
    if direction == "upload":
        upload(store, local, container, path, block_size, concurrency, progress=die_at_fraction)
    else:
        download(store, container, path, local, concurrency, progress=die_at_fraction, chunk_size=block_size)


if __name__ == "__main__":
    main(sys.argv[1:])
