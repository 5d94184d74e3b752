"""The Python gateway client stops when it is told to, however busy the stream is."""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from gateway.client import GatewayClient


async def test_a_client_reading_a_steady_stream_stops_when_cancelled():
    """A cancelled reader ends although a frame is always waiting.

    ``rotation up --headless --duration`` cancels its reader at the deadline; a reader
    that lost the cancellation (Python 3.11's ``asyncio.wait_for`` returns the frame
    instead when both happen at once) kept logging for half an hour.
    """

    async def flood(ws):
        await ws.send(json.dumps({"type": "welcome", "heartbeat_interval": 5.0}))
        seq = 0
        with contextlib.suppress(ConnectionClosed):
            while True:
                seq += 1
                await ws.send(json.dumps({"type": "heartbeat", "seq": seq}))

    async with serve(flood, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        received = 0
        flowing = asyncio.Event()

        async def read() -> None:
            nonlocal received
            async for kind, _message in GatewayClient(f"ws://127.0.0.1:{port}").events():
                if kind == "message":
                    received += 1
                    if received == 1_000:
                        flowing.set()

        for attempt in range(3):
            reader = asyncio.create_task(read())
            await asyncio.wait_for(flowing.wait(), 60)
            reader.cancel()
            done, _ = await asyncio.wait({reader}, timeout=30)
            assert done, f"attempt {attempt}: the reader kept reading after cancel ({received})"
            assert reader.cancelled()
            flowing.clear()
            received = 0
