"""A whole cluster on this machine: Azurite, the runtime (`hpcburst devhost` on function_app.py) and N agents.

``hpcburst up``/``down``, the end-to-end tests and ``bench/sweep.py`` all use this. Every process starts in
its own session with its log under ``DATA_DIR/logs``; ``DATA_DIR/cluster.json`` records the URL and pids so
``down`` (another process) can stop them. Parts can be killed and restarted (runtime, agents) to test
recovery: state persists under DATA_DIR.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from hpcburst import constants as c
from hpcburst.client.http import error_from
from hpcburst.client.local_access import ADMIN_TOKEN_FILE, LocalAccess
from hpcburst.emulators import REPO_ROOT, free_port, start_azurite
from hpcburst.errors import ClusterUnreachable, ConfigError
from hpcburst.provisioners.factory import ENV_LOCAL_NODES_DIR
from hpcburst.provisioners.local import stop_all

STATE_FILE = "cluster.json"

START_TIMEOUT = 60.0


@dataclass
class ClusterState:
    url: str
    data_dir: str
    connection: str
    port: int
    pids: dict[str, int] = field(default_factory=dict)  # "azurite", "devhost", "agent:NAME" -> pid (= pgid)

    def save(self) -> None:
        Path(self.data_dir, STATE_FILE).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, data_dir: Path) -> ClusterState | None:
        path = data_dir / STATE_FILE
        return cls(**json.loads(path.read_text())) if path.exists() else None


def default_cluster_dir(env: dict[str, str] | None = None) -> Path:
    """Where `hpcburst up` keeps the local cluster unless told otherwise: $HPCBURST_DATA_DIR/cluster."""
    env = dict(os.environ) if env is None else env
    return Path(env.get(c.ENV_DATA_DIR, ".hpcburst")) / "cluster"


def local_admin_token(url: str, env: dict[str, str] | None = None) -> str | None:
    """The admin token `hpcburst up` wrote for the local cluster, when ``url`` is that cluster's."""
    directory = default_cluster_dir(env)
    state = ClusterState.load(directory)
    if state is None or state.url.rstrip("/") != url.rstrip("/"):
        return None
    try:
        return (directory / ADMIN_TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None


def local_storage_connection(env: dict[str, str] | None = None) -> str | None:
    """The Azurite connection string of the local cluster running under $HPCBURST_DATA_DIR, if any."""
    state = ClusterState.load(default_cluster_dir(env))
    return state.connection if state else None


class LocalCluster:
    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        app_dir: Path = REPO_ROOT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.app_dir = app_dir
        self.extra_env = env or {}
        self.state: ClusterState | None = None
        self._access: LocalAccess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, agents: int = 2, slots: int = 2, pool: str = "default") -> ClusterState:
        # Agents run tasks as other accounts, which need to reach agents/ only: storage, state and logs
        # (blobs, the SQLite state, connection strings in logs) stay the cluster's own.
        for private in ("logs", "azurite", "devhost", "state"):
            (self.data_dir / private).mkdir(parents=True, exist_ok=True)
            (self.data_dir / private).chmod(0o700)
        azurite = start_azurite(self.data_dir / "azurite")
        self.state = ClusterState(self.url, str(self.data_dir), azurite.connection_string, self.port)
        self.state.pids["azurite"] = azurite.proc.pid
        self.state.save()
        try:
            self.start_runtime()
            self.access().admin_token()
            names = [f"local-{n}" for n in range(1, agents + 1)]
            for name in names:
                self.start_agent(name, slots=slots, pool=pool)
            self.wait_for_agents(names)
        except BaseException:
            self.stop()
            raise
        return self.state

    # --- credentials ---
    def access(self) -> LocalAccess:
        """Users, tokens and join secrets of this cluster, written straight into its state store."""
        if self._access is None:
            self._access = LocalAccess(self.data_dir, self.env())
        return self._access

    @property
    def admin_token(self) -> str:
        return self.access().admin_token()

    # --- parts ---
    def env(self) -> dict[str, str]:
        assert self.state is not None, "start() first"
        return {
            **os.environ,
            c.ENV_STORAGE_CONNECTION: self.state.connection,
            c.ENV_DATA_DIR: str(self.data_dir / "state"),
            c.ENV_URL: self.url,
            ENV_LOCAL_NODES_DIR: str(self.cloud_dir),
            **self.extra_env,
        }

    @property
    def cloud_dir(self) -> Path:
        """The local provisioner's work root: where this cluster's "cloud" nodes live."""
        return self.data_dir / "cloud"

    def create_cloud_pool(
        self, name: str = "cloud", max_nodes: int = 2, slots: int = 2, **burst: object
    ) -> dict[str, object]:
        """A burstable pool whose nodes the local provisioner starts (``burst``: more BurstSettings fields).
        Short timeouts by default, so the demo scales to zero within minutes."""
        settings = {"provisioner": "local", "max_nodes": max_nodes, "slots_per_node": slots,
                    "idle_timeout": 60, "delay_after_add": 60, "boot_timeout": 120, **burst}  # fmt: skip
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        response = httpx.post(f"{self.url}/api/pools", json={"name": name, "burst": settings}, headers=headers,
                              timeout=30)  # fmt: skip
        if response.status_code == 409:  # kept from an earlier run: take the settings asked for now
            response = httpx.patch(f"{self.url}/api/pools/{name}", json={"burst": settings}, headers=headers,
                                   timeout=30)  # fmt: skip
        if response.status_code >= 400:
            raise error_from(response)
        return dict(response.json())

    def start_runtime(self) -> None:
        """Start `hpcburst devhost` on the app and wait until it answers."""
        assert self.state is not None
        cmd = [sys.executable, "-m", "hpcburst.devhost", "--app-dir", str(self.app_dir), "--port", str(self.port),
               "--host", "127.0.0.1", "--data-dir", str(self.data_dir / "devhost"),
               "--shutdown-grace", "3"]  # fmt: skip  # agents' long-polls would hold the default 10 s
        proc = self._spawn("devhost", cmd)
        self._wait_until_up(proc)

    def start_agent(self, name: str, slots: int = 2, pool: str = "default", cloud: bool = False,
                    extra_args: Sequence[str] = ()) -> int:  # fmt: skip
        """Start a node agent holding only the cluster URL: no storage key, so it works through the
        service's per-blob grants alone (as a cloud worker does). ``cloud``: mark it a burst worker;
        ``extra_args``: more agent flags (e.g. ``--scheduled-events-url``)."""
        assert self.state is not None
        cmd = [sys.executable, "-m", "nodeagent", "--url", self.url, "--node", name, "--pool", pool,
               "--slots", str(slots), "--workdir", str(self.data_dir / "agents" / name)]  # fmt: skip
        env = {**self.env(), c.ENV_JOIN_TOKEN: self.access().join_token(pool)}
        env.pop(c.ENV_STORAGE_CONNECTION, None)  # agents work through the grants the service signs
        if cloud:
            cmd.append("--cloud")
        cmd += extra_args
        return self._spawn(f"agent:{name}", cmd, env).pid

    def wait_for_agents(self, names: list[str], timeout: float = START_TIMEOUT) -> None:
        """Until every agent named has registered; ConfigError with its last log line if one exits first
        (e.g. a work root its task account cannot reach), so `up` never reports a cluster that cannot run."""
        assert self.state is not None
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        deadline = time.monotonic() + timeout
        while True:
            for name in names:
                pid = self.state.pids.get(f"agent:{name}")
                if pid is not None and not _alive(pid):
                    log = self.data_dir / "logs" / f"agent-{name}.log"
                    raise ConfigError(f"agent {name} exited while starting: {_last_line(log)} (see {log})")
            try:
                listed = httpx.get(f"{self.url}/api/nodes", headers=headers, timeout=5).json()["nodes"]
                if set(names) <= {n["name"] for n in listed}:
                    return
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise ClusterUnreachable(f"agents {', '.join(names)} did not register within {timeout:.0f}s")
            time.sleep(0.1)

    def kill(self, part: str, sig: int = signal.SIGKILL) -> None:
        """Signal one part's whole process group ("devhost", "agent:NAME", "azurite") and forget it."""
        assert self.state is not None
        pid = self.state.pids.pop(part, None)
        if pid is not None:
            _stop_group(pid, sig)
            self.state.save()

    def stop(self) -> None:
        if self.state is None:
            self.state = ClusterState.load(self.data_dir)
        if self.state is None:
            return
        if self._access is not None:
            self._access.close()
            self._access = None
        stop_parts(self.state)  # the runtime first: a controller still ticking could start nodes again
        stop_all(self.cloud_dir)
        (self.data_dir / STATE_FILE).unlink(missing_ok=True)

    def _spawn(self, part: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        assert self.state is not None
        log = open(self.data_dir / "logs" / f"{part.replace(':', '-')}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(cmd, env=env or self.env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(self.app_dir))  # fmt: skip
        log.close()
        proc.returncode = 0  # waited for through its pid; Popen must not warn when it is dropped
        self.state.pids[part] = proc.pid
        self.state.save()
        return proc

    def _wait_until_up(self, proc: subprocess.Popen[bytes]) -> None:
        from hpcburst.devhost.process import wait_until_serving  # not at the top: the package loads aiohttp

        if wait_until_serving(self.url, lambda: _alive(proc.pid), START_TIMEOUT):
            return
        if not _alive(proc.pid):
            raise ConfigError(
                f"the runtime exited while starting; see {self.data_dir / 'logs' / 'devhost.log'}"
            )
        raise ClusterUnreachable(f"the runtime did not answer at {self.url} within {START_TIMEOUT:.0f}s")


def stop_parts(state: ClusterState, timeout: float = 10.0) -> None:
    """Agents first (they flush results), then the runtime, then storage."""
    agents = [p for p in state.pids if p.startswith("agent:")]
    for wave in (agents, [p for p in ("devhost", "azurite") if p in state.pids]):
        for part in wave:  # agents end their long-polls before the runtime drains requests
            _stop_group(state.pids[part], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for part in wave:
            pid = state.pids[part]
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                _stop_group(pid, signal.SIGKILL)
    state.pids.clear()


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1].strip() if lines else "(empty log)"


def _stop_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it if it ended
        if done:
            return False
    except ChildProcessError:
        pass  # started by another process (`hpcburst up` earlier)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
