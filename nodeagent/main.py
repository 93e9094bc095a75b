"""Starting an agent process: settings from flags and the environment, signals, logging.

``python -m nodeagent`` (argparse, no CLI dependencies) and ``hpcburst agent`` both end in ``serve``.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

from hpcburst import constants as c
from hpcburst.client.http import cluster_url
from hpcburst.errors import ConfigError, InvalidSpec
from hpcburst.sizes import parse_size
from nodeagent import deadman, evictions
from nodeagent.agent import Agent, AgentConfig
from nodeagent.config import ENV_SOA_PYTHON
from nodeagent.runas import load_user_map
from nodeagent.service import AgentService
from nodeagent.taskdirs import DEFAULT_TTL


def make_config(
    url: str | None = None,
    pool: str = "default",
    slots: int | None = None,
    node: str | None = None,
    workdir: str | None = None,
    cloud: bool = False,
    *,
    join_token: str | None = None,
    insecure: bool = False,
    task_user: str | None = None,
    user_map: str | None = None,
    keep_task_dirs: bool = False,
    task_dir_ttl: float = DEFAULT_TTL,
    scheduled_events_url: str | None = None,
    acknowledge_evictions: bool = False,
    dead_man_minutes: float | None = None,
    on_dead_man: str | None = None,
    cache_max: str | None = None,
) -> AgentConfig:
    """The agent's settings; flags win over the environment ($HPCBURST_JOIN_TOKEN, $HPCBURST_TASK_USER,
    $HPCBURST_USER_MAP, $HPCBURST_KEEP_TASK_DIRS, $HPCBURST_SOA_PYTHON, $HPCBURST_SCHEDULED_EVENTS_URL, $HPCBURST_DEAD_MAN_MINUTES).
    A ``cloud`` agent watches the VM's scheduled events and has a dead-man switch by default. ConfigError for a plain-http URL to another machine
    (unless ``insecure``): the join secret and node credential would cross the network in clear text."""
    node = node or socket.gethostname()
    map_file = user_map or os.environ.get(c.ENV_USER_MAP)
    url = cluster_url(url)
    if not insecure and not secure_enough(url):
        raise ConfigError(
            f"{url} is plain http to another machine, so credentials would travel unencrypted: "
            "use https, or pass --insecure if this network is trusted"
        )
    data_dir = Path(os.environ.get(c.ENV_DATA_DIR, ".hpcburst"))
    root = Path(workdir) if workdir else data_dir / "agent" / node
    return AgentConfig(
        url=url,
        node=node,
        pool=pool,
        slots=slots or os.cpu_count() or 1,
        workdir=root.resolve(),
        join_token=join_token or os.environ.get(c.ENV_JOIN_TOKEN) or None,
        cloud=cloud,
        task_user=task_user or os.environ.get(c.ENV_TASK_USER) or None,
        user_map=load_user_map(Path(map_file)) if map_file else {},
        keep_task_dirs=keep_task_dirs or os.environ.get(c.ENV_KEEP_TASK_DIRS, "") in ("1", "true", "yes"),
        task_dir_ttl=task_dir_ttl,
        scheduled_events_url=scheduled_events_url
        or os.environ.get(c.ENV_SCHEDULED_EVENTS_URL)
        or (evictions.DEFAULT_URL if cloud else None),
        acknowledge_evictions=acknowledge_evictions,
        dead_man_minutes=_dead_man_minutes(dead_man_minutes, cloud),
        on_dead_man=on_dead_man or None,
        cache_max=_cache_max(cache_max),
        soa_python=os.environ.get(ENV_SOA_PYTHON) or None,
    )


def _cache_max(flag: str | None) -> int | None:
    """Bytes the input cache may hold (``--cache-max 20G``); None: no cap."""
    if not flag:
        return None
    try:
        size = parse_size(flag)
    except InvalidSpec as e:
        raise ConfigError(f"--cache-max: {e.message}") from None
    if size <= 0:
        raise ConfigError("--cache-max must be a size above 0, e.g. 20G (leave it out for no cap)")
    return size


def _dead_man_minutes(flag: float | None, cloud: bool) -> float:
    """Minutes without a successful call before a cloud agent stops (0: never; on-premises nodes never do)."""
    if not cloud:
        return 0.0
    raw = flag if flag is not None else os.environ.get(c.ENV_DEAD_MAN_MINUTES, deadman.DEFAULT_MINUTES)
    try:
        minutes = float(raw)
    except ValueError:
        raise ConfigError(f"{c.ENV_DEAD_MAN_MINUTES} must be a number of minutes, not {raw!r}") from None
    if minutes < 0:
        raise ConfigError("the dead-man switch needs a number of minutes >= 0 (0 disables it)")
    return minutes


def secure_enough(url: str) -> bool:
    """https anywhere, or http to this machine (loopback)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(config: AgentConfig) -> None:
    """Run an agent until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The Azure SDK logs every request at INFO: a line per blob call would drown the agent's own log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    os.umask(0o022)  # what the agent makes (packages, cache) tasks can never write, whatever umask it got
    config.workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(config.workdir)
    agent = Agent(config)
    if config.join_token is None and not agent.credentials.has_node_credential():
        raise ConfigError(
            f"this node has no credential: pass --join-token or set {c.ENV_JOIN_TOKEN} "
            "(an admin prints one with `hpcburst pool join-token POOL`)"
        )
    service = AgentService(agent)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stop())
    service.run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nodeagent", description="hpcburst node agent")
    parser.add_argument("--url", help=f"the cluster's API (default ${c.ENV_URL} or http://127.0.0.1:7071)")
    parser.add_argument("--pool", default="default", help="node group this node belongs to")
    parser.add_argument("--slots", type=int, default=None, help="indices run at once (default: CPU count)")
    parser.add_argument("--node", default=None, help="node name (default: host name)")
    parser.add_argument("--workdir", default=None, help="root of task working directories")
    parser.add_argument("--cloud", action="store_true", help="this node is a burst (cloud) worker")
    parser.add_argument(
        "--join-token", default=None, help=f"the pool's join secret (default ${c.ENV_JOIN_TOKEN})"
    )
    parser.add_argument("--insecure", action="store_true", help="allow a plain-http URL to another machine")
    parser.add_argument("--task-user", default=None,
                        help=f"as root: the account tasks run as (${c.ENV_TASK_USER}; default hpcburst-task, "
                             "else nobody)")  # fmt: skip
    parser.add_argument("--user-map", default=None,
                        help=f"as root: file of hpcburst_user=local_account lines (${c.ENV_USER_MAP})")  # fmt: skip
    parser.add_argument("--keep-task-dirs", action="store_true",
                        help=f"keep each index's directory after it is reported (${c.ENV_KEEP_TASK_DIRS}=1)")  # fmt: skip
    parser.add_argument("--task-dir-ttl", type=float, default=DEFAULT_TTL,
                        help="seconds a job's directory stays after its last index on this node")  # fmt: skip
    parser.add_argument("--scheduled-events-url", default=None,
                        help=f"the VM's scheduled-events endpoint (${c.ENV_SCHEDULED_EVENTS_URL}; with --cloud "
                             f"default {evictions.DEFAULT_URL}): a spot eviction gives all work back")  # fmt: skip
    parser.add_argument("--acknowledge-evictions", action="store_true",
                        help="once the work is given back, tell the VM it may go now (stops billing sooner)")  # fmt: skip
    parser.add_argument("--dead-man-minutes", type=float, default=None,
                        help=f"with --cloud: stop after this long without reaching the service "
                             f"(${c.ENV_DEAD_MAN_MINUTES}; default {deadman.DEFAULT_MINUTES:g}; 0: never)")  # fmt: skip
    parser.add_argument("--on-dead-man", default=None,
                        help="shell command run when the dead-man switch stops the agent, e.g. "
                             "'shutdown -h now' on a cloud image so the VM stops billing")  # fmt: skip
    parser.add_argument("--cache-max", default=None,
                        help="most the input cache may hold, e.g. 20G: least recently used inputs are removed "
                             "(never one a running task uses); default no cap")  # fmt: skip
    args = parser.parse_args(argv)
    if args.slots is not None and args.slots < 1:
        parser.error("--slots must be at least 1")
    try:
        config = make_config(
            args.url, args.pool, args.slots, args.node, args.workdir, args.cloud,
            join_token=args.join_token, insecure=args.insecure, task_user=args.task_user,
            user_map=args.user_map, keep_task_dirs=args.keep_task_dirs, task_dir_ttl=args.task_dir_ttl,
            scheduled_events_url=args.scheduled_events_url, acknowledge_evictions=args.acknowledge_evictions,
            dead_man_minutes=args.dead_man_minutes, on_dead_man=args.on_dead_man, cache_max=args.cache_max,
        )  # fmt: skip
        serve(config)
    except ConfigError as e:
        raise SystemExit(f"hpcburst agent: {e.message}") from None
