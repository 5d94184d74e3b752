"""The Python gateway client: its resume bookkeeping and typed messages (sans-I/O), and
that it stops when it is told to, however busy the stream is."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import msgspec
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from gateway.client import Event, GatewayClient, UnknownMessage, decode_message
from gateway.messages import Heartbeat, Position, Resumed, SignalMessage, Snapshot
from tests.test_gateway_server import make_signal


def test_positions_are_complete_only_after_a_whole_catch_up_and_signals_come_once():
    client = GatewayClient("ws://127.0.0.1:1/ws", ("signals",))

    def take(message: Any) -> Event | None:
        return client.take(decode_message(msgspec.json.encode(message)))

    def signal(seq: int, i: int, epoch: str = "e1") -> SignalMessage:
        return SignalMessage("signals", seq, make_signal(i), epoch)

    assert "since" not in client.subscribe_request()
    assert take(signal(1, 1)) == ("message", signal(1, 1))
    assert client.subscribe_request()["since"] == {"signals": Position("e1", 1)}
    # Reconnected; the gateway cannot resume and sends a snapshot that repeats signal 1.
    client.tracker.disconnected()
    assert take(Snapshot("signals", "e2", 5, 2)) == ("message", Snapshot("signals", "e2", 5, 2))
    assert "since" not in client.subscribe_request()  # the old position is void
    assert take(signal(4, 1, "e2")) is None
    assert "since" not in client.subscribe_request()  # incomplete until all of it is in
    assert take(signal(5, 2, "e2")) == ("catch_up", signal(5, 2, "e2"))
    assert client.subscribe_request()["since"] == {"signals": Position("e2", 5)}
    assert take(signal(6, 3, "e2")) == ("message", signal(6, 3, "e2"))
    # A resume cut short by a lost connection leaves the last message's position.
    assert take(Resumed("signals", "e2", 7, 8, 2)) == ("message", Resumed("signals", "e2", 7, 8, 2))
    assert take(signal(7, 4, "e2")) == ("catch_up", signal(7, 4, "e2"))
    client.tracker.disconnected()
    assert client.subscribe_request()["since"] == {"signals": Position("e2", 7)}
    assert take(signal(8, 5, "e2")) == ("message", signal(8, 5, "e2"))


def test_messages_are_typed_and_unknown_ones_are_passed_on():
    client = GatewayClient("ws://127.0.0.1:1/ws")
    heartbeat = Heartbeat(3, 1_700_000_000_000_000)
    assert client.take(decode_message(msgspec.json.encode(heartbeat))) == ("message", heartbeat)
    for raw in ({"type": "from_the_future", "x": 1}, {"type": "heartbeat"}, [1, 2], {}):
        event = client.take(decode_message(msgspec.json.encode(raw)))
        assert event is not None and event[0] == "message"
        unknown = event[1]
        assert isinstance(unknown, UnknownMessage) and unknown.raw == raw and unknown.problem
    future = decode_message(b'{"type": "from_the_future"}')
    assert isinstance(future, UnknownMessage) and future.type == "from_the_future"


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
