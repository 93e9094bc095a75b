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
            raise StorageUnavailable(
                f"emulator exited with code {proc.returncode} before listening on {port}"
            )
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
    with open(data_dir / "azurite.log", "ab") as log:  # the child writes to its own copy of the fd
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    emu = Azurite(proc, {"blob": blob_port, "queue": queue_port})
    try:
        wait_for_port(blob_port, proc)
        wait_for_port(queue_port, proc)
    except BaseException:
        emu.stop()
        raise
    return emu


def _cosmos_server_cmd(port: int, keep_alive: bool) -> list[str]:
    if not keep_alive:
        return [node_bin("cosmosdb-server"), "--port", str(port), "--host", "127.0.0.1"]
    # The npm CLI cannot turn keep-alive on; the package's own API can.
    node = shutil.which("node")
    if node is None or not (REPO_ROOT / "node_modules" / "@vercel" / "cosmosdb-server").exists():
        raise ConfigError(f"@vercel/cosmosdb-server is not installed: run `npm ci` in {REPO_ROOT}")
    script = f"require('@vercel/cosmosdb-server').createHttpsServer({{keepAlive: true}}).listen({port}, '127.0.0.1')"
    return [node, "-e", script]


def start_cosmos_server(log_dir: Path, port: int | None = None, keep_alive: bool = False) -> CosmosServer:
    """Start @vercel/cosmosdb-server (HTTPS, self-signed certificate, data in memory).

    ``keep_alive=True`` keeps HTTP connections open as Cosmos DB does; by default the server answers
    ``Connection: close``, so every request pays a new TLS handshake (~20 ms on a small machine).
    """
    port = port or free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "cosmos.log", "ab") as log:  # the child writes to its own copy of the fd
        proc = subprocess.Popen(
            _cosmos_server_cmd(port, keep_alive),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO_ROOT,
        )
    emu = CosmosServer(proc, {"cosmos": port})
    try:
        wait_for_port(port, proc)
    except BaseException:
        emu.stop()
        raise
    return emu
