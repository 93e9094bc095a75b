"""The local provisioner: "cloud" nodes that are real agent processes on this machine (tests and the demo).

``create`` starts ``python -m nodeagent --cloud`` per name, each in its own session (its process group is
its pid) with its log in ``WORK_ROOT/logs/NAME.log`` and its work directory in ``WORK_ROOT/NAME``. The join
token travels in the environment ($HPCBURST_JOIN_TOKEN), never in argv, so ``ps`` does not show it. What it
made is kept in ``WORK_ROOT/nodes.json`` (``local_registry``), so a restarted controller lists and deletes
an earlier one's nodes.

Slots: a pool whose ``vm_size`` is ``local-N`` gets N slots per node (the size is the pool's own knob, as a
VM size is in Azure); any other size gets the constructor's ``slots``.

Injected trouble, so burst logic meets what clouds do:
- ``boot_delay``: the agent starts that many seconds after ``create`` (``sh -c 'sleep D; exec ...'``); the
  node is Provisioning until then, Running after.
- ``fail_rate``: that share of nodes (seeded RNG) never boots: no process, Provisioning until deleted.
- ``evict(name)``: the node's processes are signalled away and it stays listed as Deallocated (or Failed).
  Realistic Preempt notices (the agent drains and gives work back) come from a fake scheduled-events
  endpoint instead: pass its URL as ``scheduled_events_url`` (see nodeagent/evictions.py).
A node whose process ended by itself is Failed, with its log's last line as ``detail``.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hpcburst import constants as c
from hpcburst.provisioners import local_process as proc
from hpcburst.provisioners.local_registry import LocalNode, Nodes, Registry
from hpcburst.provisioners.port import NodeState, PoolTarget, ProvisionedNode, check_names

LOCAL_SIZE = re.compile(r"^local-([1-9][0-9]{0,3})$")
NEVER_BOOTS = "never boots (failure injected)"
STRAY = "an agent process no registry lists (its controller died before saving it)"
Command = list[str]  # named here: inside the class, ``list`` is the port method


class LocalProvisioner:
    def __init__(
        self,
        work_root: Path,
        cluster_url: str,
        boot_delay: float = 0.0,
        fail_rate: float = 0.0,
        seed: int | None = None,
        python: str = sys.executable,
        extra_env: dict[str, str] | None = None,
        *,
        slots: int = 1,
        scheduled_events_url: str | None = None,
        dead_man_minutes: float | None = None,
        grace: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``dead_man_minutes``: passed to the agents (None: the agent's default; 0 disables the switch);
        ``grace``: seconds between SIGTERM and SIGKILL when a node is deleted; ``clock``: epoch seconds."""
        self.work_root = work_root.resolve()
        self.cluster_url = cluster_url
        self.boot_delay, self.fail_rate = boot_delay, fail_rate
        self.python, self.extra_env = python, dict(extra_env or {})
        self.slots, self.scheduled_events_url = slots, scheduled_events_url
        self.dead_man_minutes, self.grace, self.clock = dead_man_minutes, grace, clock
        self._rng = random.Random(seed)
        # Agents running as root run tasks as unprivileged accounts, which must pass through the work root.
        self.work_root.mkdir(parents=True, exist_ok=True)
        self.work_root.chmod(0o711)
        (self.work_root / "logs").mkdir(mode=0o700, exist_ok=True)
        self.registry = Registry(self.work_root)

    # --- the port ---
    def create(self, pool: PoolTarget, names: list[str], join_token: str) -> list[ProvisionedNode]:
        check_names(names)

        strays = proc.agents_under(self.work_root)

        def start_new(nodes: Nodes) -> None:
            for name in names:
                if name in nodes:
                    continue
                # an agent already runs under this name (started before a crash lost the registry): adopt it
                nodes[name] = (
                    self._adopt(pool, strays[name]) if name in strays else self._start(pool, name, join_token)
                )

        nodes = self.registry.update(start_new)
        return [self._record(name, nodes[name]) for name in names]

    def delete(self, pool: PoolTarget, names: list[str]) -> None:
        wanted = set(names)
        registered = self.registry.read()
        mine = {n: node for n, node in registered.items() if n in wanted and node.pool == pool.pool}
        strays = {n: self._adopt(pool, pid) for n, pid in proc.agents_under(self.work_root).items()
                  if n in wanted and n not in registered}  # fmt: skip
        proc.stop(
            [node for node in [*mine.values(), *strays.values()] if proc.alive(node)],
            signal.SIGTERM,
            self.grace,
        )
        for name in strays:
            shutil.rmtree(self.work_root / name, ignore_errors=True)

        def forget(nodes: Nodes) -> None:
            for name in mine:
                nodes.pop(name, None)

        self.registry.update(forget)
        for name in mine:
            shutil.rmtree(self.work_root / name, ignore_errors=True)  # a deleted VM's disk goes with it

    def list(self, pool: PoolTarget) -> list[ProvisionedNode]:
        """The registry's nodes of the pool, plus agent processes no registry lists (``STRAY``): those may
        belong to any pool, so every pool's list shows them and the controller deletes them as orphans."""
        nodes = self.registry.read()
        listed = [self._record(name, nodes[name]) for name in sorted(nodes) if nodes[name].pool == pool.pool]
        strays = [ProvisionedNode(name=name, pool=pool.pool, state="Running", detail=STRAY)
                  for name in sorted(proc.agents_under(self.work_root)) if name not in nodes]  # fmt: skip
        return sorted(listed + strays, key=lambda n: n.name)

    # --- injected trouble ---
    def evict(self, name: str, sig: int = signal.SIGTERM, state: NodeState = "Deallocated") -> None:
        """The node vanishes: its process group gets ``sig`` (SIGTERM lets the agent drain, SIGKILL does
        not; SIGKILL follows after ``grace``) and it stays listed as ``state`` until deleted."""
        node = self.registry.read().get(name)
        if node is None:  # already deleted: nothing left to evict
            return
        if proc.alive(node):
            proc.stop([node], sig, self.grace)

        def mark(nodes: Nodes) -> None:
            if name in nodes:  # the controller may already have seen the death and deleted the node
                nodes[name].state, nodes[name].detail = state, f"evicted (signal {signal.Signals(sig).name})"

        self.registry.update(mark)

    # --- steps ---
    def _adopt(self, pool: PoolTarget, pid: int) -> LocalNode:
        now = self.clock()
        return LocalNode(pool=pool.pool, created_at=now, boot_at=now, spot=pool.spot, vm_size=pool.vm_size,
                         slots=self._slots(pool.vm_size), pid=pid, started=proc.start_ticks(pid))  # fmt: skip

    def _start(self, pool: PoolTarget, name: str, join_token: str) -> LocalNode:
        now = self.clock()
        slots = self._slots(pool.vm_size)
        node = LocalNode(pool=pool.pool, created_at=now, boot_at=now + self.boot_delay, spot=pool.spot,
                         vm_size=pool.vm_size, slots=slots)  # fmt: skip
        if self._rng.random() < self.fail_rate:
            node.detail = NEVER_BOOTS
            return node
        workdir = self.work_root / name
        workdir.mkdir(mode=0o711, exist_ok=True)
        workdir.chmod(0o711)
        node.pid = proc.spawn(self._command(pool.pool, name, slots), self._env(join_token), self._log(name))
        node.started = proc.start_ticks(node.pid)
        return node

    def _command(self, pool: str, name: str, slots: int) -> Command:
        agent = [self.python, "-m", "nodeagent", "--url", self.cluster_url, "--node", name, "--pool", pool,
                 "--slots", str(slots), "--cloud", "--workdir", str(self.work_root / name)]  # fmt: skip
        if self.scheduled_events_url:
            agent += ["--scheduled-events-url", self.scheduled_events_url]
        if self.dead_man_minutes is not None:
            agent += ["--dead-man-minutes", f"{self.dead_man_minutes:g}"]
        if self.boot_delay <= 0:
            return agent
        return ["sh", "-c", 'sleep "$1"; shift; exec "$@"', "sh", f"{self.boot_delay:g}", *agent]

    def _env(self, join_token: str) -> dict[str, str]:
        # A cloud node holds no storage key: it works through the grants the service signs.
        env = {k: v for k, v in os.environ.items() if k != c.ENV_STORAGE_CONNECTION}
        return {**env, **self.extra_env, c.ENV_JOIN_TOKEN: join_token}

    def _log(self, name: str) -> Path:
        return self.work_root / "logs" / f"{name}.log"

    def _slots(self, vm_size: str) -> int:
        match = LOCAL_SIZE.match(vm_size)
        return int(match.group(1)) if match else self.slots

    def _record(self, name: str, node: LocalNode) -> ProvisionedNode:
        state, detail = self._state(name, node)
        return ProvisionedNode(name=name, pool=node.pool, state=state, created_at=node.created_at,
                               spot=node.spot, vm_size=node.vm_size, detail=detail)  # fmt: skip

    def _state(self, name: str, node: LocalNode) -> tuple[NodeState, str]:
        if node.state is not None:
            return node.state, node.detail
        if node.pid is None:
            return "Provisioning", node.detail
        if not proc.alive(node):
            return "Failed", f"the agent exited: {proc.last_line(self._log(name))}"
        return ("Running" if self.clock() >= node.boot_at else "Provisioning"), ""


def stop_all(work_root: Path, grace: float = 5.0) -> list[str]:
    """Stop every node a local provisioner made under ``work_root`` (the local cluster going down: its
    "cloud" nodes must not outlive it); the names stopped."""
    if not work_root.exists():
        return []
    registry = Registry(work_root)
    nodes = registry.read()
    strays = {name: LocalNode(pool="", created_at=0, boot_at=0, pid=pid, started=proc.start_ticks(pid))
              for name, pid in proc.agents_under(work_root.resolve()).items() if name not in nodes}  # fmt: skip
    proc.stop([n for n in [*nodes.values(), *strays.values()] if proc.alive(n)], signal.SIGTERM, grace)
    registry.update(lambda found: found.clear())
    return sorted([*nodes, *strays])
