"""Every service host on the node: started from lease answers, fed by the SOA poll, stopped or timed out.

Hosts hold slots: ``on_count`` tells the agent how many run (``Ledger.hosts``) whenever that changes.
Outcomes wait in ``Outbox`` until a poll carrying them is answered. ``changed`` is set whenever there is
something the broker should hear at once (responses, a host ready or ended): the flush step waits on it.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import hpcburst
from hpcburst.domain.soa.protocol import Fault, HostEnded, HostRequest, HostResponse, HostStart, HostState
from nodeagent.runas import Account
from nodeagent.soa.cache import DataCache
from nodeagent.soa.hostproc import HostProcess
from nodeagent.soa.outbox import Outbox

log = logging.getLogger("nodeagent")

AccountFor = Callable[[str], Account | None]  # session owner -> the account its hosts run as


class HostManager:
    def __init__(
        self,
        node: str,
        workdir: Path,
        package_root: Path,
        base_env: Mapping[str, str],
        account_for: AccountFor,
        on_count: Callable[[int], None] = lambda n: None,
        cache: DataCache | None = None,
        python: str = sys.executable,
        ensure_package: Callable[[str], None] = lambda name: None,
    ) -> None:
        self.node, self.workdir, self.package_root = node, workdir / "soa-hosts", package_root
        self._base_env, self._account_for, self._on_count = dict(base_env), account_for, on_count
        self.cache = cache or DataCache(workdir / "soa-data")
        self.python = python
        self._ensure_package = ensure_package  # installs a service's package the node does not have yet
        self.outbox = Outbox()
        self.hosts: dict[str, HostProcess] = {}
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return len(self.hosts)

    # --- from the lease thread ---
    def start(self, starts: list[HostStart]) -> None:
        for start in starts:
            if start.host in self.hosts:
                continue  # a lease answer seen twice
            host = HostProcess(start, self.node, self._results, self._data, self._ended)
            with self._lock:
                self.hosts[start.host] = host
            try:
                self._spawn(host)
            except OSError as e:
                self._ended(host, f"init failed: cannot start: {e.strerror or e}")
        self._on_count(self.count)

    def _spawn(self, host: HostProcess) -> None:
        start = host.start
        if start.package:
            self._ensure_package(start.package)
        account = self._account_for(start.owner)
        cwd = self.workdir / start.host
        cwd.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.workdir.chmod(0o711)
        if account is not None:
            os.chown(cwd, account.uid, account.gid)
        env = self._environment(start, str(cwd), account)
        argv = [self.python, "-m", "hpcburst.soa.host", "--module", start.module,
                "--max-concurrent", str(start.max_concurrent)]  # fmt: skip
        if account is not None:
            argv = [*account.prefix, *argv]
        host.spawn(argv, env, str(cwd), str(self.workdir / f"{start.host}.log"))

    def _environment(self, start: HostStart, cwd: str, account: Account | None) -> dict[str, str]:
        env = {**self._base_env, "HOME": cwd}
        if account is not None:
            env["USER"] = env["LOGNAME"] = account.name
        env.update(start.environment)
        paths = [str(self.package_root / start.package)] if start.package else []
        paths += [p for p in (env.get("PYTHONPATH") or "").split(os.pathsep) if p]
        if self.python != sys.executable:  # another interpreter: it finds hpcburst.soa (stdlib only) here
            paths.append(str(Path(hpcburst.__file__).resolve().parents[1]))
        env.update(PYTHONPATH=os.pathsep.join(paths), CCP_SERVICENAME=start.service, HPC_SESSIONID=start.session,
                   CCP_PACKAGE_ROOT=str(self.package_root), PYTHONUNBUFFERED="1")  # fmt: skip
        if not paths:
            del env["PYTHONPATH"]
        return env

    # --- from the poll threads ---
    def dispatch(self, requests: list[HostRequest]) -> None:
        """Hand requests to their hosts, a batch per host; one for a host gone meanwhile goes back as a retry."""
        by_host: dict[str, list[HostRequest]] = {}
        for request in requests:
            by_host.setdefault(request.host, []).append(request)
        for name, batch in by_host.items():
            host = self.hosts.get(name)
            if host is not None and not host.stopping and host.reason is None:
                host.send(batch)
                continue
            fault = Fault(
                type="HostDied",
                message=f"host {name} is not running on {self.node}",
                attempts=0,
                node=self.node,
            )
            self.outbox.add([HostResponse(host=name, client_id=r.client_id, id=r.id, attempt=r.attempt, ok=False,
                                          fault=fault.model_copy(update={"attempts": r.attempt}), retry=True)
                             for r in batch])  # fmt: skip

    def stop(self, names: list[str]) -> None:
        for name in names:
            host = self.hosts.get(name)
            if host is not None:
                host.stop()

    def states(self) -> list[HostState]:
        return [
            HostState(host=h.name, ready=h.ready, want=min(10_000, h.want()))
            for h in list(self.hosts.values())
        ]

    def tick(self, now: float | None = None) -> None:
        """Kill hosts past their init timeout, or holding a call past the operation timeout."""
        now = time.monotonic() if now is None else now
        for host in list(self.hosts.values()):
            if host.reason is not None:
                continue
            if not host.ready and now - host.began > host.start.init_timeout:
                host.kill("init timeout")
            elif host.ready and (late := host.overdue(now)):
                host.late = late
                host.kill("operation timeout")

    def close(self) -> None:
        for host in list(self.hosts.values()):
            host.kill("the agent stopped")

    # --- host callbacks (their reader threads) ---
    def _results(self, host: HostProcess, responses: list[HostResponse]) -> None:
        self.outbox.add(responses)

    def _data(self, host: HostProcess, name: str) -> dict[str, Any]:
        return self.cache.answer(host.start.session, name)

    def _ended(self, host: HostProcess, reason: str) -> None:
        session = host.start.session
        with self._lock:
            self.hosts.pop(host.name, None)
            last_of_session = not any(h.start.session == session for h in self.hosts.values())
        self._on_count(self.count)  # the slot is free before the broker hears the host ended
        (log.info if reason == "stopped" else log.warning)("service host %s ended: %s", host.name, reason)
        shutil.rmtree(self.workdir / host.name, ignore_errors=True)
        if reason == "stopped":  # kept otherwise: why it failed
            (self.workdir / f"{host.name}.log").unlink(missing_ok=True)
        if last_of_session:
            self.cache.drop(session)
        self.outbox.add(host.take_calls(host.late), HostEnded(host=host.name, reason=reason))
