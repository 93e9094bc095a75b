"""Run the devhost as a process: logging, SIGINT/SIGTERM, exit codes.

Exit code 0 after a signal-driven shutdown, 1 for a ConfigError (printed as ``error: ...`` with the
fix, no traceback), 130 when interrupted during start.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from hpcburst.devhost.queue_trigger import PROCESSING_LEASE
from hpcburst.devhost.server import DevHost
from hpcburst.errors import ConfigError

log = logging.getLogger("hpcburst.devhost")


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for noisy in ("azure", "aiohttp.access", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def serve(host: DevHost) -> None:
    """Start ``host``, run until SIGINT or SIGTERM, then shut it down gracefully."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await host.start()
    # What start loaded (the app, SDKs, the engine) lives as long as the process: the collector need not scan
    # it again, and collections of the long-poll heavy broker come less often, so a request's round trip does
    # not wait on one (an SOA p99 matter: full collections of a large heap take tens of ms).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        await stopping.wait()
    finally:
        log.info("Stopping the host (waiting up to %.0fs for running functions)", host.grace)
        await host.stop()


def run(
    app_dir: Path,
    port: int | None,
    data_dir: Path | None,
    bind: str,
    grace: float = 10.0,
    queue_lease: float = PROCESSING_LEASE,
    enable_auth: bool = False,
) -> int:
    _configure_logging()
    host = DevHost(
        app_dir,
        port=port,
        data_dir=data_dir,
        host=bind,
        shutdown_grace=grace,
        queue_lease_seconds=queue_lease,
        out=lambda text: print(text, flush=True),
        apply_log_level=True,
        enable_auth=enable_auth,
    )
    try:
        asyncio.run(serve(host))
    except ConfigError as err:
        print(f"error: {err.message}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    _exit_if_functions_hang()
    return 0


def _exit_if_functions_hang() -> None:
    """Leave now if sync functions still run past the grace period (Python would wait for them forever)."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in others:  # idle pool threads end within moments of their pool's shutdown
        thread.join(timeout=0.2)
    stuck = [t for t in others if t.is_alive()]
    if stuck:
        log.warning("%d worker thread(s) still busy after the grace period; exiting without them", len(stuck))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
