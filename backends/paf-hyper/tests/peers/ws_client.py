"""A WebSocket client nobody here wrote (Python's `websockets`), against paf's server.

Usage: ws_client.py URL CA_FILE PAYLOAD_FILE OUT_DIR

Sends, one at a time, waiting for each echo: a text message, a binary message,
and the bytes of PAYLOAD_FILE as one binary message; then pings, waits for the
pong, and closes with code 4001. Writes each echo to OUT_DIR/NAME.echo and
prints one line per step for websocket.rs to check:

    echo name=NAME type=str|bytes
    pong data=PAYLOAD
    closed code=N reason=TEXT seconds=S

CA_FILE is trusted for wss:// URLs (ignored for ws://).
"""

import asyncio
import os
import ssl
import sys
import time

from websockets.asyncio.client import connect

TEXT = "hello from websockets, ünïcødé ✓"
BINARY = bytes(range(256))
PING = b"paf-ping"


async def main():
    url, ca_file, payload_file, out_dir = sys.argv[1:5]
    with open(payload_file, "rb") as f:
        payload = f.read()
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("wss:") else None
    async with connect(
        url,
        ssl=context,
        # Room for the 1 MiB message and its echo; no keepalive pings of its
        # own, so the server sees exactly the ping below.
        max_size=2 * len(payload) + 1024,
        ping_interval=None,
        open_timeout=10,
        close_timeout=5,
    ) as ws:
        for name, message in [("text", TEXT), ("binary", BINARY), ("big", payload)]:
            await ws.send(message)
            echo = await asyncio.wait_for(ws.recv(), 10)
            data = echo.encode() if isinstance(echo, str) else echo
            with open(os.path.join(out_dir, name + ".echo"), "wb") as f:
                f.write(data)
            print(f"echo name={name} type={type(echo).__name__}", flush=True)

        pong = await ws.ping(PING)
        await asyncio.wait_for(pong, 10)
        print(f"pong data={PING.decode()}", flush=True)

        started = time.monotonic()
        await ws.close(code=4001, reason="bye from python")
        elapsed = time.monotonic() - started
        print(f"closed code={ws.close_code} reason={ws.close_reason} seconds={elapsed:.3f}", flush=True)


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 30))
