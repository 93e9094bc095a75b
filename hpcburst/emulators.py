"""Start and stop the local emulators hpcburst runs on without Azure: Azurite and the Cosmos server.

Used by the test fixtures, ``.ci/run`` and ``hpcburst up``. Both are npm packages pinned in
package.json and installed by ``npm ci`` into ./node_modules.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hpcburst.constants import AZURITE_ACCOUNT, AZURITE_KEY
from hpcburst.errors import ConfigError, StorageUnavailable

REPO_ROOT = Path(__file__).resolve().parent.parent
# The Cosmos server's fixed master key (any base64 key is accepted; the SDK needs one to sign).
COSMOS_SERVER_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_bin(name: str) -> str:
    """Path of an npm-installed executable; a ConfigError naming the fix if npm ci has not run."""
    local = REPO_ROOT / "node_modules" / ".bin" / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    raise ConfigError(f"{name} is not installed: run `npm ci` in {REPO_ROOT}")


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StorageUnavailable(f"emulator exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise StorageUnavailable(f"emulator did not listen on port {port} within {timeout:.0f}s")


@dataclass
class Emulator:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class Azurite(Emulator):
    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.ports["blob"], self.ports["queue"])


@dataclass
class CosmosServer(Emulator):
    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.ports['cosmos']}/"

    key: str = COSMOS_SERVER_KEY


def azurite_connection_string(blob_port: int, queue_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob_port}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/{AZURITE_ACCOUNT};"
    )


def start_azurite(data_dir: Path, blob_port: int | None = None, queue_port: int | None = None) -> Azurite:
    """Start Azurite's blob and queue services persisting to ``data_dir``."""
    blob_port = blob_port or free_port()
    queue_port = queue_port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        node_bin("azurite"),
        "--silent",
        "--skipApiVersionCheck",  # current SDKs send a newer API version than Azurite accepts
        "--disableTelemetry",  # otherwise it tries to reach an ingestion endpoint
        "--location", str(data_dir),
        "--blobHost", "127.0.0.1", "--blobPort", str(blob_port),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue_port),
        "--tableHost", "127.0.0.1", "--tablePort", str(free_port()),
    ]  # fmt: skip
    log = open(data_dir / "azurite.log", "ab")  # noqa: SIM115 - owned by the child process
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    emu = Azurite(proc, {"blob": blob_port, "queue": queue_port})
    try:
        wait_for_port(blob_port, proc)
        wait_for_port(queue_port, proc)
    except BaseException:
        emu.stop()
        raise
    return emu


def start_cosmos_server(log_dir: Path, port: int | None = None) -> CosmosServer:
    """Start @vercel/cosmosdb-server (HTTPS, self-signed certificate, data in memory)."""
    port = port or free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / "cosmos.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [node_bin("cosmosdb-server"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    emu = CosmosServer(proc, {"cosmos": port})
    try:
        wait_for_port(port, proc)
    except BaseException:
        emu.stop()
        raise
    return emu
