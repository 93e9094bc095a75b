"""The agent's settings: one frozen object built at the edge (``nodeagent.main``) from flags and environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nodeagent.taskdirs import DEFAULT_TTL

# The interpreter service hosts run on (default: the agent's own). An agent running as root runs hosts as
# unprivileged accounts, which must be able to execute it: point this at a system Python when the agent's
# lives where they cannot read (a root-only virtualenv or pyenv).
ENV_SOA_PYTHON = "HPCBURST_SOA_PYTHON"


@dataclass(frozen=True)
class AgentConfig:
    url: str
    node: str
    pool: str = "default"
    slots: int = 1
    workdir: Path = field(default_factory=lambda: Path.cwd())
    package_root: Path | None = None
    cache_max: int | None = None  # bytes the input cache may hold (--cache-max); None: no cap
    join_token: str | None = None  # the pool's join secret (HPCBURST_JOIN_TOKEN)
    cloud: bool = False
    lease_wait: float = 20.0  # long-poll seconds (capped by the service's max_lease_wait)
    report_interval: float = 0.05  # seconds results may wait to share a report call
    report_max: int = 2000  # results per report call
    task_user: str | None = None  # as root: tasks of owners not in the user map run as this account
    user_map: dict[str, str] = field(default_factory=dict)  # as root: hpcburst user -> local account
    keep_task_dirs: bool = False  # keep each index's directory after its result is reported (debugging)
    task_dir_ttl: float = DEFAULT_TTL  # seconds a job's directory outlives its last index here
    # Cloud agents (``nodeagent.evictions``, ``nodeagent.deadman``); None / 0: off.
    scheduled_events_url: str | None = None  # the VM's IMDS scheduled-events endpoint
    scheduled_events_interval: float = 1.0  # seconds between polls
    acknowledge_evictions: bool = False  # tell IMDS to go ahead once the work is given back
    dead_man_minutes: float = 0.0  # stop after this long without a successful call to the service
    on_dead_man: str | None = None  # shell command run when the dead-man switch fires

    @property
    def packages(self) -> Path:
        return self.package_root or self.workdir / "packages"

    soa_python: str | None = None  # service hosts' interpreter ($HPCBURST_SOA_PYTHON); None: the agent's own
