"""Run the Durable engine alone on one app file: ``python -m hpcburst.devhost.durable.standalone``.

Serves only the Durable HTTP API (``/runtime/webhooks/durabletask/``) on 127.0.0.1; prints ``READY <port>``
once listening. Used by the crash-restart test and handy for poking the engine without the full devhost.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from .engine import DurableEngine
from .registry import DurableRegistry


def load_functions(app_path: Path) -> list:
    spec = importlib.util.spec_from_file_location(f"durable_standalone_{app_path.stem}", app_path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {app_path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.app.get_functions()


async def serve(app_path: Path, db_path: Path, port: int, max_activities: int) -> None:
    engine = DurableEngine(
        str(db_path), DurableRegistry.from_functions(load_functions(app_path)), max_activities
    )
    await engine.start()
    app = web.Application()
    app.router.add_route("*", "/runtime/webhooks/durabletask/{tail:.*}", engine.handle_http)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        await runner.cleanup()
        await engine.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", type=Path, required=True, help="the function_app.py to serve")
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file holding the task hub")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--max-activities", type=int, default=10)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.app, args.db, args.port, args.max_activities))


if __name__ == "__main__":
    main()
