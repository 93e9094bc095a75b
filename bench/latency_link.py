"""A TCP relay that adds one-way latency in both directions: a WAN link in front of Azurite.

Every chunk is forwarded ``delay`` seconds after it arrived (a delay line, like netem's delay: no
bandwidth cap, no loss), so each HTTP request/response pays one round trip of ``2 * delay`` on
top of the server's own time — what a transfer from an on-premises site to an Azure region pays.
Runs as its own process so relaying does not compete for the bench process's GIL.

    python bench/latency_link.py LISTEN_PORT TARGET_PORT ONE_WAY_DELAY_MS
"""

from __future__ import annotations

import asyncio
import sys

CHUNK = 256 * 1024


async def delay_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def take() -> None:
        try:
            while data := await reader.read(CHUNK):
                queue.put_nowait((loop.time() + delay, data))
        except ConnectionError:
            pass
        queue.put_nowait((loop.time() + delay, b""))

    async def give() -> None:
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    try:
        await asyncio.gather(take(), give())
    except ConnectionError:
        writer.close()


async def serve(listen_port: int, target_port: int, delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2 * delay)  # the TCP handshake's round trip
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(delay_line(client_r, server_w, delay), delay_line(server_r, client_w, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    listen, target, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(serve(listen, target, delay_ms / 1000))
