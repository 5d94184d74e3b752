"""The Python gateway client stops when it is told to, however busy the stream is."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from gateway.client import GatewayClient


@contextlib.contextmanager
def flooding_server() -> Iterator[int]:
    """A websocket server that sends heartbeats without pause, on its own thread and loop.

    Like the real gateway it runs apart from the client: on the client's own loop, a
    flood that never waits for the socket would hold the loop until the kernel buffers
    fill, and a busy machine would then time out the client's handshake.
    """

    async def flood(ws) -> None:
        await ws.send(json.dumps({"type": "welcome", "heartbeat_interval": 5.0}))
        seq = 0
        with contextlib.suppress(ConnectionClosed):
            while True:
                seq += 1
                await ws.send(json.dumps({"type": "heartbeat", "seq": seq}))

    loop = asyncio.new_event_loop()
    listening: list[int] = []
    ready = threading.Event()
    stop = asyncio.Event()

    async def main() -> None:
        async with serve(flood, "127.0.0.1", 0, compression=None) as server:
            listening.append(server.sockets[0].getsockname()[1])
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the flooding server did not listen within 60 s"
        yield listening[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        assert not thread.is_alive(), "the flooding server did not stop within 60 s"
        loop.close()


async def test_a_client_reading_a_steady_stream_stops_when_cancelled():
    """A cancelled reader ends although a frame is always waiting.

    ``rotation up --headless --duration`` cancels its reader at the deadline; a reader
    that lost the cancellation (Python 3.11's ``asyncio.wait_for`` returns the frame
    instead when both happen at once) kept logging for half an hour.
    """
    with flooding_server() as port:
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
            try:
                await asyncio.wait_for(flowing.wait(), 120)
            except TimeoutError:
                reader.cancel()
                raise AssertionError(
                    f"attempt {attempt}: only {received} messages within 120 s"
                ) from None
            reader.cancel()
            done, _ = await asyncio.wait({reader}, timeout=30)
            assert done, f"attempt {attempt}: the reader kept reading after cancel ({received})"
            assert reader.cancelled()
            flowing.clear()
            received = 0
