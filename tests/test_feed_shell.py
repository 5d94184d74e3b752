"""The websocket shell around every live provider, in process against a local server:
handshake timeout, silence as a gap, a stale connection replaced, and Kafka failures
that are reported, not swallowed. Messages: Polygon's (see ``tests/test_feed_adapters.py``)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiokafka.errors import KafkaTimeoutError
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from streams.feeds.errors import KafkaSendFailed
from streams.feeds.polygon import PolygonStream
from streams.feeds.producer import FrameProducer
from streams.feeds.shell import Limits, Shell
from streams.records import Tick
from tests.test_feed_adapters import POLYGON_AUTH_SUCCESS, POLYGON_CONNECTED, POLYGON_TRADE

FAST = Limits(
    gap_seconds=0.05,
    stale_seconds=0.5,
    handshake_seconds=0.2,
    backoff_initial=0.01,
    backoff_max=0.02,
)


async def run_shell_until(shell: Shell, ticks: list[Tick], count: int, script) -> None:
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        n, connections = connections, connections + 1
        try:
            await script(ws, n)
            await ws.wait_closed()
        except ConnectionClosed:
            pass

    stop = asyncio.Event()
    async with serve(handler, "127.0.0.1", 0) as server:
        shell.provider.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        running = asyncio.create_task(shell.run(stop))
        async with asyncio.timeout(30):
            while len(ticks) < count:
                assert not running.done(), running
                await asyncio.sleep(0.01)
        stop.set()
        await running


async def handshake(ws: ServerConnection) -> None:
    await ws.send(json.dumps(POLYGON_CONNECTED))
    await ws.recv()
    await ws.send(json.dumps(POLYGON_AUTH_SUCCESS))
    await ws.recv()
    await ws.send('[{"ev":"status","status":"success","message":"subscribed to: T.MSFT"}]')


async def test_an_unfinished_handshake_is_retried(caplog):
    async def script(ws: ServerConnection, n: int) -> None:
        if n == 0:
            await ws.send(json.dumps(POLYGON_CONNECTED))
            await ws.recv()  # the auth, never answered
            return
        await handshake(ws)
        await ws.send(json.dumps([POLYGON_TRADE]))

    ticks: list[Tick] = []
    shell = Shell(PolygonStream(["MSFT"], "test-key"), ticks.extend, FAST)
    with caplog.at_level(logging.INFO, logger="rotation.feeds"):
        await run_shell_until(shell, ticks, 1, script)
    assert shell.stats.connections == 2
    assert "no subscription confirmed" in caplog.text
    assert [t.price for t in ticks] == [POLYGON_TRADE["p"]]


async def test_silence_is_a_gap_and_a_stale_connection_is_replaced(caplog):
    async def script(ws: ServerConnection, n: int) -> None:
        await handshake(ws)
        await ws.send(json.dumps([{**POLYGON_TRADE, "q": POLYGON_TRADE["q"] + n}]))
        # then silence, longer than gap_seconds and stale_seconds

    ticks: list[Tick] = []
    shell = Shell(PolygonStream(["MSFT"], "test-key"), ticks.extend, FAST)
    with caplog.at_level(logging.INFO, logger="rotation.feeds"):
        await run_shell_until(shell, ticks, 2, script)
    assert shell.stats.connections >= 2
    assert "gap: no ticks for" in caplog.text
    assert "replacing the connection" in caplog.text
    assert "gap: the stream was down" in caplog.text
    assert shell.stats.gaps >= 2


async def test_a_batch_kafka_does_not_take_stops_the_feed_and_says_what_was_lost():
    class Refusing:
        async def send(self, *args: object, **kwargs: object) -> None:
            raise KafkaTimeoutError()

    producer = FrameProducer("127.0.0.1:1")
    producer.producer._producer = Refusing()  # type: ignore[assignment]
    producer.add([Tick("MSFT", 1_000_000, 1.0), Tick("IWM", 2_000_000, 2.0)])
    with pytest.raises(KafkaSendFailed, match="2 ticks with event times 1970-01-01T00:00:01"):
        await producer.flush()
