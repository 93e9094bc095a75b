"""Start ``hpcburst devhost`` as a child process and wait until it serves (for end-to-end tests and tools).

    proc = DevhostProcess.start(app_dir, data_dir=tmp / "data", env={"AzureWebJobsStorage": conn})
    proc.base_url            # http://127.0.0.1:<port>
    proc.terminate()         # SIGTERM: graceful; proc.kill() is SIGKILL (crash tests)

The child's stdout/stderr go to ``<data_dir>/devhost.log`` (appended) so a test can show them on failure.
``wait_until_serving`` is the readiness poll, shared with ``LocalCluster`` (which starts its runtime itself).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from hpcburst.emulators import free_port
from hpcburst.errors import ConfigError

STATUS_PATH = "/admin/host/status"


def wait_until_serving(base_url: str, running: Callable[[], bool], timeout: float) -> bool:
    """Poll the host's status until it answers 200 (True); False once ``running()`` is false or ``timeout``
    passes (the caller tells the two apart and reports them its own way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running():
        try:
            if httpx.get(base_url + STATUS_PATH, timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return False


@dataclass
class DevhostProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        app_dir: str | Path,
        data_dir: str | Path,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 60.0,
        shutdown_grace: float = 10.0,
        queue_lease: float | None = None,
    ) -> DevhostProcess:
        port = port or free_port()
        data = Path(data_dir)
        data.mkdir(parents=True, exist_ok=True)
        log_path = data / "devhost.log"
        cmd = [sys.executable, "-m", "hpcburst.devhost", "--app-dir", str(app_dir), "--port", str(port)]
        cmd += ["--data-dir", str(data), "--host", "127.0.0.1", "--shutdown-grace", str(shutdown_grace)]
        if queue_lease is not None:
            cmd += ["--queue-lease", str(queue_lease)]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        running = cls(proc, port, log_path)
        running.wait_ready(ready_timeout)
        return running

    def wait_ready(self, timeout: float) -> None:
        if wait_until_serving(self.base_url, lambda: self.proc.poll() is None, timeout):
            return
        if self.proc.poll() is not None:
            raise ConfigError(f"devhost exited with code {self.proc.returncode}:\n{self.log()}")
        self.kill()
        raise ConfigError(f"devhost did not answer within {timeout:.0f}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the graceful shutdown; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.proc.returncode)

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing gets to clean up."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
