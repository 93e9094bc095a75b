"""An upload that really dies half-way: ``python -m hpcburst.data.interrupt`` SIGKILLs itself.

Used by the resume test and ``bench/transfer.py`` to interrupt an upload the way a crash or a
pulled plug does (no cleanup, requests cut mid-block), instead of a polite exception. When the
upload's progress reaches FRACTION, the process writes a JSON report and kills itself:
``done_bytes`` finished blocks, and ``sent_upper_bound`` = finished bytes plus what the workers
could have been sending at that instant (at most one block per worker).

Usage: python -m hpcburst.data.interrupt CONNECTION_STRING LOCAL CONTAINER PATH BLOCK_SIZE CONCURRENCY FRACTION REPORT
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
from hpcburst.data.transfer_upload import upload
from hpcburst.storage.blob.azure import AzureBlobStore


@dataclass(frozen=True)
class KilledUpload:
    done_bytes: int
    sent_upper_bound: int
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
) -> KilledUpload:
    """Run the dying upload in a child process and return what it managed before SIGKILL."""
    args = [connection_string, str(local), container, path, str(block_size), str(concurrency), str(fraction)]
    proc = subprocess.run([sys.executable, "-m", "hpcburst.data.interrupt", *args, str(report)], timeout=600)
    body = json.loads(report.read_text())
    return KilledUpload(body["done_bytes"], body["sent_upper_bound"], proc.returncode)


def main(argv: list[str]) -> None:
    conn, local, container, path, block, conc, fraction, report = argv
    block_size, concurrency = int(block), int(conc)

    def die_at_fraction(p: TransferProgress) -> None:
        if p.fraction >= float(fraction):
            in_flight = min(p.in_flight_bytes, concurrency * block_size)
            body = {"done_bytes": p.done_bytes, "sent_upper_bound": p.transferred_bytes + in_flight}
            Path(report).write_text(json.dumps(body))
            os.kill(os.getpid(), signal.SIGKILL)

    store = AzureBlobStore.from_connection_string(conn)
    upload(store, local, container, path, block_size, concurrency, progress=die_at_fraction)


if __name__ == "__main__":
    main(sys.argv[1:])
