"""Starting an agent process: settings from flags and the environment, signals, logging.

``python -m nodeagent`` (argparse, no CLI dependencies) and ``hpcburst agent`` both end in ``serve``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
from pathlib import Path

from hpcburst import constants as c
from hpcburst.client.http import cluster_url
from nodeagent.agent import Agent, AgentConfig
from nodeagent.service import AgentService


def make_config(
    url: str | None = None,
    pool: str = "default",
    slots: int | None = None,
    node: str | None = None,
    workdir: str | None = None,
    cloud: bool = False,
) -> AgentConfig:
    node = node or socket.gethostname()
    data_dir = Path(os.environ.get(c.ENV_DATA_DIR, ".hpcburst"))
    root = Path(workdir) if workdir else data_dir / "agent" / node
    return AgentConfig(
        url=cluster_url(url),
        node=node,
        pool=pool,
        slots=slots or os.cpu_count() or 1,
        workdir=root.resolve(),
        token=os.environ.get(c.ENV_TOKEN),
        cloud=cloud,
    )


def serve(config: AgentConfig) -> None:
    """Run an agent until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The Azure SDK logs every request at INFO: a line per blob call would drown the agent's own log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    config.workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(config.workdir)  # tasks without a workdir then start by plain posix_spawn (no chdir)
    service = AgentService(Agent(config))
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
    args = parser.parse_args(argv)
    if args.slots is not None and args.slots < 1:
        parser.error("--slots must be at least 1")
    serve(make_config(args.url, args.pool, args.slots, args.node, args.workdir, args.cloud))
