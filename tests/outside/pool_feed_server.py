#!/usr/bin/env python3
"""A WebSocket feed server for the outbound pool's tests (Python `websockets`).

Usage: pool_feed_server.py [PORT]

Listens on 127.0.0.1:PORT (0, the default, picks a free port) and prints
`PORT <n>` on stdout once it accepts connections. On each connection:
  - the text `subscribe NAME COUNT` is answered with COUNT text frames
    `NAME:0` .. `NAME:<COUNT-1>`;
  - any other text or binary frame is echoed as it is.
Pings are answered by `websockets` itself. The test kills the process to
simulate a crash and starts it again on the same port.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def handler(ws: ServerConnection) -> None:
    async for message in ws:
        if isinstance(message, str) and message.startswith("subscribe "):
            parts = message.split(" ")
            name = parts[1]
            count = int(parts[2]) if len(parts) > 2 else 1
            for i in range(count):
                await ws.send(f"{name}:{i}")
        else:
            await ws.send(message)


async def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    async with serve(handler, "127.0.0.1", port, ping_interval=None) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"PORT {bound}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
