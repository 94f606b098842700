"""A WebSocket echo server nobody here wrote (Python's `websockets`), for paf's client.

Usage: ws_server.py [CERT_FILE KEY_FILE]

Listens on 127.0.0.1, on a port the system picks, with TLS when given a
certificate, and prints `port=N` once it accepts connections. Echoes every
message of every connection and prints what it saw, for websocket.rs to check:

    open path=PATH
    got type=str|bytes len=N
    closed code=N reason=TEXT

Runs until killed.
"""

import asyncio
import ssl
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    print(f"open path={ws.request.path}", flush=True)
    try:
        async for message in ws:
            print(f"got type={type(message).__name__} len={len(message)}", flush=True)
            await ws.send(message)
    except ConnectionClosed:
        # A close code other than 1000 or 1001 ends the loop with this.
        pass
    print(f"closed code={ws.close_code} reason={ws.close_reason}", flush=True)


async def main():
    context = None
    if len(sys.argv) == 3:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
    # Room for the 1 MiB message; no keepalive pings of its own.
    async with serve(echo, "127.0.0.1", 0, ssl=context, max_size=2**21, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"port={port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
