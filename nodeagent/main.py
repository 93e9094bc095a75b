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
from hpcburst.errors import ConfigError
from nodeagent.agent import Agent, AgentConfig
from nodeagent.service import AgentService


def make_config(
    url: str | None = None,
    pool: str = "default",
    slots: int | None = None,
    node: str | None = None,
    workdir: str | None = None,
    cloud: bool = False,
    join_token: str | None = None,
    insecure: bool = False,
) -> AgentConfig:
    """The agent's settings; ConfigError for a plain-http URL to another machine (unless ``insecure``):
    the join secret and node credential would cross the network in clear text."""
    node = node or socket.gethostname()
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
    )


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
    config.workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(config.workdir)  # tasks without a workdir then start by plain posix_spawn (no chdir)
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
    args = parser.parse_args(argv)
    if args.slots is not None and args.slots < 1:
        parser.error("--slots must be at least 1")
    try:
        config = make_config(
            args.url,
            args.pool,
            args.slots,
            args.node,
            args.workdir,
            args.cloud,
            args.join_token,
            args.insecure,
        )
        serve(config)
    except ConfigError as e:
        raise SystemExit(f"nodeagent: {e.message}") from None
