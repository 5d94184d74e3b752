"""``rotation feed yahoo|alpaca|polygon`` end to end, offline: a local websocket server on
127.0.0.1 replays each provider's messages in its exact wire format, drops the connection
once, and the ticks that reach Kafka (a real embedded broker, read back with
confluent-kafka, not the project's aiokafka) must equal the expected ticks exactly.

Where the messages come from:

- Yahoo: the recorded streamer frames in
  ``../shared/marketdata/ws_samples/yahoo_frames/yahoo_pricing_frames.json`` (each with
  its public source; the test skips when the folder is absent), sent in the
  ``?version=2`` envelope ``{"type": "pricing", "message": "<base64>"}`` that yfinance's
  ``live.py`` reads.
- Alpaca: the examples of https://docs.alpaca.markets/docs/real-time-stock-pricing-data
  (trade ``"T":"t"`` AAPL 126.55, quote ``"T":"q"`` AMD 87.66/87.68) and
  https://docs.alpaca.markets/docs/streaming-market-data (``connected``,
  ``authenticated``, the subscription confirmation, errors such as
  ``{"T":"error","code":402,"msg":"auth failed"}`` and 406/407); a trade correction
  ``"T":"c"`` posted on Alpaca's forum (https://forum.alpaca.markets/t/message-type-c/8116);
  trade, quote, trading-status and cancel payloads of alpaca-py's
  ``tests/data/test_websockets.py`` (alpacahq/alpaca-py), whose timestamps are mocked
  msgpack values there, so here they carry constructed RFC 3339 times in the documented
  format.
- Polygon: the trade and quote examples of the official client's spec
  (polygon-io/client-python ``.polygon/websocket.json`` @ 00dfbbdf, MSFT 114.125 and
  114.125/114.128) and the status and trade messages of its websocket mock server
  (``test_websocket/mock_server.py`` @ b7207ba9, AAPL 161.87); ``auth_failed`` as
  reported from Polygon's servers in polygon-io/client-php#17 and massive-com/client-jvm#11;
  ``max_connections`` with the status name of the docs and a message written here (no
  recording of its exact text was found); the ``A`` aggregate example of the same spec.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from agents.analytics.tick_checks import decode_message
from rotation import processes
from rotation.broker import embedded_broker
from streams.admin import ensure_topics
from streams.partitioning import partition_for
from streams.records import Tick
from streams.topics import DEFAULT_TOPICS

MARKETDATA = Path(__file__).resolve().parents[2] / "shared" / "marketdata"
YAHOO_FRAMES = MARKETDATA / "ws_samples" / "yahoo_frames" / "yahoo_pricing_frames.json"
WAIT = 60.0

# Alpaca, from its documentation (see the module docstring).
ALPACA_CONNECTED = [{"T": "success", "msg": "connected"}]
ALPACA_AUTHENTICATED = [{"T": "success", "msg": "authenticated"}]
ALPACA_AUTH_FAILED = [{"T": "error", "code": 402, "msg": "auth failed"}]
ALPACA_SLOW_CLIENT = [{"T": "error", "code": 407, "msg": "slow client"}]
ALPACA_TRADE = {
    "T": "t",
    "i": 96921,
    "S": "AAPL",
    "x": "D",
    "p": 126.55,
    "s": 1,
    "t": "2021-02-22T15:51:44.208Z",
    "c": ["@", "I"],
    "z": "C",
}
ALPACA_QUOTE = {
    "T": "q",
    "S": "AMD",
    "bx": "U",
    "bp": 87.66,
    "bs": 1,
    "ax": "Q",
    "ap": 87.68,
    "as": 4,
    "t": "2021-02-22T15:51:45.335689322Z",
    "c": ["R"],
    "z": "C",
}
ALPACA_CORRECTION = {
    "T": "c",
    "S": "IWM",
    "x": "D",
    "oi": 79372207866957,
    "op": 208.65,
    "os": 14950,
    "oc": [" ", "7", "V"],
    "ci": 79372223926359,
    "cp": 208.65,
    "cs": 14950,
    "cc": [" ", "7", "Z", "V"],
    "z": "B",
    "t": "2022-01-20T17:26:08.000760661Z",
}
# alpaca-py payloads; "t" constructed (alpaca-py mocks it as a msgpack Timestamp).
ALPACA_PY_TRADE = {
    "T": "t",
    "S": "AAPL",
    "i": 6142,
    "x": "V",
    "p": 177.79,
    "s": 90,
    "c": ["@", "I"],
    "z": "C",
    "t": "2024-06-17T14:11:00.123456789Z",
}
ALPACA_PY_QUOTE = {
    "T": "q",
    "S": "SPIP",
    "bx": "V",
    "bp": 25.41,
    "bs": 35,
    "ax": "V",
    "ap": 25.43,
    "as": 35,
    "c": ["R"],
    "z": "B",
    "t": "2024-06-17T14:11:00.5Z",
}
ALPACA_PY_STATUS = {
    "T": "s",
    "S": "STRR",
    "t": "2024-06-17T14:11:01Z",
    "sc": "T",
    "sm": "Trading Resumption",
    "rc": "C11",
    "rm": "",
    "z": "C",
}
ALPACA_PY_CANCEL = {
    "T": "x",
    "S": "DJT",
    "i": 4868,
    "x": "D",
    "p": 36.18,
    "s": 31800,
    "a": "C",
    "z": "C",
    "t": "2024-06-17T14:11:02Z",
}

# Polygon, from the official client's spec and mock server (see the module docstring).
POLYGON_CONNECTED = [{"ev": "status", "status": "connected", "message": "Connected Successfully"}]
POLYGON_AUTH_SUCCESS = [{"ev": "status", "status": "auth_success", "message": "authenticated"}]
POLYGON_AUTH_FAILED = [
    {"ev": "status", "status": "auth_failed", "message": "authentication failed"}
]
POLYGON_MAX_CONNECTIONS = [
    {
        "ev": "status",
        "status": "max_connections",
        "message": "Maximum number of websocket connections exceeded.",
    }
]
POLYGON_TRADE = {
    "ev": "T",
    "sym": "MSFT",
    "x": 4,
    "i": "12345",
    "z": 3,
    "p": 114.125,
    "s": 100,
    "c": [0, 12],
    "t": 1536036818784,
    "q": 3681328,
}
POLYGON_QUOTE = {
    "ev": "Q",
    "sym": "MSFT",
    "bx": 4,
    "bp": 114.125,
    "bs": 100,
    "ax": 7,
    "ap": 114.128,
    "as": 160,
    "c": 0,
    "i": [604],
    "t": 1536036818784,
    "q": 50385480,
    "z": 3,
}
POLYGON_MOCK_TRADES = [
    [
        {
            "ev": "T",
            "sym": "AAPL",
            "i": "5096",
            "x": 10,
            "p": 161.87,
            "s": 300,
            "c": [14, 41],
            "t": 1651684192462,
            "q": 4009402,
            "z": 3,
        }
    ],
    [
        {
            "ev": "T",
            "sym": "AAPL",
            "i": "72815",
            "x": 12,
            "p": 161.87,
            "s": 1,
            "c": [14, 37, 41],
            "t": 1651684192536,
            "q": 4009408,
            "z": 3,
        },
        {
            "ev": "T",
            "sym": "AAPL",
            "i": "799",
            "x": 4,
            "p": 161.87,
            "s": 100,
            "t": 1651684192717,
            "q": 4009434,
            "z": 3,
        },
    ],
]
POLYGON_AGGREGATE = {
    "ev": "A",
    "sym": "SPCE",
    "v": 200,
    "av": 8642007,
    "op": 25.66,
    "vw": 25.3981,
    "o": 25.39,
    "c": 25.39,
    "h": 25.39,
    "l": 25.39,
    "a": 25.3714,
    "z": 50,
    "s": 1610144868000,
    "e": 1610144869000,
}


# The scripted provider.


class Conversation:
    """One client connection as a provider script sees it; records what the client sent."""

    def __init__(self, ws: ServerConnection, inbox: list[Any]) -> None:
        self.ws, self.inbox = ws, inbox

    async def send(self, message: Any) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def receive(self) -> Any:
        message = json.loads(await self.ws.recv())
        self.inbox.append(message)
        return message

    def drop(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure does."""
        self.ws.transport.abort()


Script = Callable[[Conversation, int], Awaitable[None]]


class ScriptedServer:
    """A websocket server on 127.0.0.1 (free port) in its own thread. Connection ``n``
    (from 0) runs ``script(conversation, n)``, then stays open until the client leaves."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.inboxes: list[list[Any]] = []
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _handle(self, ws: ServerConnection) -> None:
        inbox: list[Any] = []
        self.inboxes.append(inbox)
        with contextlib.suppress(ConnectionClosed):
            await self.script(Conversation(ws, inbox), len(self.inboxes) - 1)
            await ws.wait_closed()

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        assert self._ready.wait(10), "the test websocket server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


# Kafka.


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("feed-broker") / "broker.log"
    with embedded_broker(log_path=log) as (bootstrap, _proc):
        asyncio.run(ensure_topics(bootstrap))
        yield bootstrap


def read_frames(bootstrap: str, source: str, until: int, timeout: float = WAIT):
    """(partition, ticks) of every quotes.ticks message holding ``source`` ticks: polls
    until ``until`` such ticks arrived, then one more second for any extra."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    consumer.assign(
        [
            TopicPartition(DEFAULT_TOPICS.ticks.name, p, 0)
            for p in range(DEFAULT_TOPICS.ticks.partitions)
        ]
    )
    frames: list[tuple[int, list[Tick]]] = []
    deadline, settle = time.monotonic() + timeout, None
    try:
        while time.monotonic() < (settle or deadline):
            message = consumer.poll(0.2)
            if message is not None:
                assert message.error() is None, message.error()
                ticks = decode_message(message.value()).ticks
                if any(t.source == source for t in ticks):
                    frames.append((message.partition(), ticks))
            got = sum(len(ticks) for _, ticks in frames)
            if settle is None and got >= until:
                settle = time.monotonic() + 1.0
    finally:
        consumer.close()
    return frames


def order(ticks: list[Tick]) -> list[Tick]:
    return sorted(ticks, key=lambda t: (t.ts, t.symbol, t.price, t.size))


# Running the command.


class Feed:
    """``rotation feed ...`` as a child process, its output in files under ``log_dir``."""

    def __init__(self, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        name = uuid.uuid4().hex[:8]
        self.out = (log_dir / f"feed-{name}.out").open("w+")
        self.err = (log_dir / f"feed-{name}.err").open("w+")
        self.proc = processes.spawn(
            processes.rotation_command("feed", *args),
            env={"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", **env},
            stdout=self.out,
            stderr=self.err,
        )

    def _finish(self, code: int) -> tuple[int, str, str]:
        self.out.seek(0)
        self.err.seek(0)
        out, err = self.out.read(), self.err.read()
        self.out.close()
        self.err.close()
        return code, out, err

    def wait(self, timeout: float = WAIT) -> tuple[int, str, str]:
        """Wait for the command to exit by itself: (status, stdout, stderr)."""
        try:
            return self._finish(self.proc.wait(timeout))
        finally:
            processes.stop(self.proc)

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM, as Ctrl-C or a supervisor would: (status, stdout, stderr)."""
        return self._finish(processes.stop(self.proc, timeout=WAIT))


def run_until_ticks(
    args: list[str], env: dict[str, str], broker: str, source: str, count: int, log_dir: Path
) -> tuple[list[tuple[int, list[Tick]]], int, str, str]:
    feed = Feed([*args, "--bootstrap", broker, "--reconnect-delay", "0.2"], env, log_dir)
    try:
        frames = read_frames(broker, source, count)
    finally:
        code, out, err = feed.stop()
    return frames, code, out, err


def assert_frames_follow_the_contract(frames: list[tuple[int, list[Tick]]]) -> None:
    for partition, ticks in frames:
        assert {partition_for(t.symbol, DEFAULT_TOPICS.ticks.partitions) for t in ticks} == {
            partition
        }
        assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)


# Alpaca.


async def alpaca_provider(conv: Conversation, n: int) -> None:
    """Connection 0: handshake, two data batches, a 407 error, then the line drops.
    Connection 1: handshake again, then more data, a correction, a status and a cancel."""
    await conv.send(ALPACA_CONNECTED)
    auth = await conv.receive()
    if auth.get("key") != "test-key" or auth.get("secret") != "test-secret":
        await conv.send(ALPACA_AUTH_FAILED)
        await conv.ws.close()
        return
    await conv.send(ALPACA_AUTHENTICATED)
    subscribe = await conv.receive()
    await conv.send(
        [
            {
                "T": "subscription",
                "trades": subscribe["trades"],
                "quotes": subscribe.get("quotes", []),
                "bars": [],
                "updatedBars": [],
                "dailyBars": [],
                "statuses": [],
                "lulds": [],
                "corrections": subscribe["trades"],
                "cancelErrors": subscribe["trades"],
            }
        ]
    )
    if n == 0:
        await conv.send([ALPACA_TRADE])
        await conv.send([ALPACA_QUOTE, ALPACA_PY_STATUS])
        await conv.send(ALPACA_SLOW_CLIENT)
        conv.drop()
    elif n == 1:
        await conv.send([ALPACA_CORRECTION, ALPACA_PY_TRADE, ALPACA_PY_QUOTE])
        await conv.send([ALPACA_PY_CANCEL])


ALPACA_TICKS = [
    Tick("AAPL", 1_614_009_104_208_000, 126.55, 1.0, source="alpaca"),
    Tick("AMD", 1_614_009_105_335_689, (87.66 + 87.68) / 2, 0.0, 87.66, 87.68, "alpaca"),
    Tick("AAPL", 1_718_633_460_123_456, 177.79, 90.0, source="alpaca"),
    Tick("SPIP", 1_718_633_460_500_000, (25.41 + 25.43) / 2, 0.0, 25.41, 25.43, "alpaca"),
]


def test_alpaca_feed_reconnects_resubscribes_and_writes_exact_ticks(broker, tmp_path):
    env = {"ALPACA_API_KEY_ID": "test-key", "ALPACA_API_SECRET_KEY": "test-secret"}
    symbols = ["AAPL", "AMD", "SPIP"]
    with ScriptedServer(alpaca_provider) as server:
        frames, code, out, err = run_until_ticks(
            ["alpaca", *symbols, "--url", server.url], env, broker, "alpaca", 4, tmp_path
        )
    assert code == 0, err
    assert "Traceback" not in err
    assert order([t for _, ticks in frames for t in ticks]) == order(ALPACA_TICKS)
    assert_frames_follow_the_contract(frames)
    # Both connections ran the whole handshake: authenticated, then the same subscription.
    auth = {"action": "auth", "key": "test-key", "secret": "test-secret"}
    subscribe = {"action": "subscribe", "trades": symbols, "quotes": symbols}
    assert server.inboxes[:2] == [[auth, subscribe], [auth, subscribe]]
    assert "alpaca error 407: slow client" in err
    assert "gap: the stream was down" in err
    assert "trade correction for IWM" in err and "DJT" in err
    assert "alpaca feed sent 4 ticks" in out


def test_alpaca_auth_failure_exits_non_zero_with_one_clear_line(broker, tmp_path):
    env = {"ALPACA_API_KEY_ID": "wrong", "ALPACA_API_SECRET_KEY": "wrong"}
    with ScriptedServer(alpaca_provider) as server:
        feed = Feed(["alpaca", "AAPL", "--url", server.url, "--bootstrap", broker], env, tmp_path)
        code, _, err = feed.wait()
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("rotation feed: error: alpaca error 402: auth failed")
    assert "ALPACA_API_KEY_ID" in last
    assert len(server.inboxes) == 1, "an auth failure is not retried"


def test_alpaca_without_credentials_says_which_variables_to_set(tmp_path):
    env = {k: "" for k in ("ALPACA_API_KEY_ID", "ALPACA_API_SECRET_KEY")}
    code, _, err = Feed(["alpaca", "AAPL"], env, tmp_path).wait()
    assert code == 2 and "Traceback" not in err
    assert "set ALPACA_API_KEY_ID" in err


# Polygon.


async def polygon_provider(conv: Conversation, n: int) -> None:
    """Connection 0: handshake, the spec's trade and quote and the mock's first trade,
    ``max_connections``, then the line drops. Connection 1: handshake again, the mock's
    other two trades and an aggregate (not a tick)."""
    await conv.send(POLYGON_CONNECTED)
    auth = await conv.receive()
    if auth != {"action": "auth", "params": "test-key"}:
        await conv.send(POLYGON_AUTH_FAILED)
        await conv.ws.close()
        return
    await conv.send(POLYGON_AUTH_SUCCESS)
    subscribe = await conv.receive()
    for topic in subscribe["params"].split(","):
        await conv.send(
            [{"ev": "status", "status": "success", "message": f"subscribed to: {topic}"}]
        )
    if n == 0:
        await conv.send([POLYGON_TRADE, POLYGON_QUOTE])
        await conv.send(POLYGON_MOCK_TRADES[0])
        await conv.send(POLYGON_MAX_CONNECTIONS)
        conv.drop()
    elif n == 1:
        await conv.send(POLYGON_MOCK_TRADES[1])
        await conv.send([POLYGON_AGGREGATE])


POLYGON_TICKS = [
    Tick("MSFT", 1_536_036_818_784_000, 114.125, 100.0, source="polygon"),
    Tick("MSFT", 1_536_036_818_784_000, (114.125 + 114.128) / 2, 0.0, 114.125, 114.128, "polygon"),
    Tick("AAPL", 1_651_684_192_462_000, 161.87, 300.0, source="polygon"),
    Tick("AAPL", 1_651_684_192_536_000, 161.87, 1.0, source="polygon"),
    Tick("AAPL", 1_651_684_192_717_000, 161.87, 100.0, source="polygon"),
]


def test_polygon_feed_reconnects_resubscribes_and_writes_exact_ticks(broker, tmp_path):
    env = {"POLYGON_API_KEY": "test-key"}
    with ScriptedServer(polygon_provider) as server:
        frames, code, out, err = run_until_ticks(
            ["polygon", "AAPL", "MSFT", "--url", server.url], env, broker, "polygon", 5, tmp_path
        )
    assert code == 0, err
    assert "Traceback" not in err
    assert order([t for _, ticks in frames for t in ticks]) == order(POLYGON_TICKS)
    assert_frames_follow_the_contract(frames)
    auth = {"action": "auth", "params": "test-key"}
    subscribe = {"action": "subscribe", "params": "T.AAPL,T.MSFT,Q.AAPL,Q.MSFT"}
    assert server.inboxes[:2] == [[auth, subscribe], [auth, subscribe]]
    assert "polygon status max_connections" in err
    assert "gap: the stream was down" in err
    assert "polygon feed sent 5 ticks" in out


def test_polygon_auth_failure_exits_non_zero_with_one_clear_line(broker, tmp_path):
    with ScriptedServer(polygon_provider) as server:
        feed = Feed(
            ["polygon", "AAPL", "--url", server.url, "--bootstrap", broker],
            {"POLYGON_API_KEY": "wrong"},
            tmp_path,
        )
        code, _, err = feed.wait()
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("rotation feed: error: polygon status auth_failed")
    assert "POLYGON_API_KEY" in last
    assert len(server.inboxes) == 1


# Yahoo.


def yahoo_frames() -> list[dict[str, Any]]:
    if not YAHOO_FRAMES.is_file():
        pytest.skip(f"recorded Yahoo frames not present: {YAHOO_FRAMES}")
    pytest.importorskip("yfinance", reason="the yahoo feed needs pip install 'rotation[yahoo]'")
    return json.loads(YAHOO_FRAMES.read_text())["frames"]


# The recorded frames in file order, as ticks: time x 1000, the float32 price as the
# decimal sent, size from last_size or the day's volume increase (see streams.feeds.yahoo).
YAHOO_TICKS = [
    Tick("BTC-USD", 1_736_509_140_000_000, 94745.08, 59712028672.0, source="yahoo"),
    Tick("MSFT", 1_589_555_123_000_000, 177.29, 0.0, source="yahoo"),
    Tick("MSFT", 1_589_554_809_000_000, 177.42, 0.0, source="yahoo"),
    Tick("MSFT", 1_589_555_120_000_000, 177.27, 0.0, source="yahoo"),
    Tick("MSFT", 1_589_555_123_000_000, 177.29, 0.0, source="yahoo"),
    Tick("AAPL", 1_589_820_933_000_000, 314.765, 0.0, source="yahoo"),
    Tick("AAPL", 1_589_820_938_000_000, 314.79, 152.0, source="yahoo"),
    Tick("AAPL", 1_709_757_487_000_000, 168.99, 0.0, source="yahoo"),
    Tick("AAPL", 1_765_436_844_000_000, 276.34, 0.0, source="yahoo"),
    Tick("AAPL", 1_785_937_395_000_000, 307.2, 49.0, source="yahoo"),
    Tick("AAPL", 1_779_437_422_000_000, 305.76, 0.0, source="yahoo"),
    Tick("SPY", 1_646_048_957_000_000, 431.18, 0.0, source="yahoo"),
    Tick("TSLA", 1_617_815_434_000_000, 676.08, 0.0, source="yahoo"),
    Tick("TSLA", 1_773_263_664_000_000, 407.4805, 0.0, source="yahoo"),
]


def test_yahoo_feed_reconnects_resubscribes_and_writes_exact_ticks(broker, tmp_path):
    frames = yahoo_frames()
    assert len(frames) == len(YAHOO_TICKS)
    half = len(frames) // 2

    async def streamer(conv: Conversation, n: int) -> None:
        """Connection 0: the first half of the frames, then the line drops; connection 1:
        the rest. Yahoo answers a subscription with data only."""
        await conv.receive()
        part = frames[:half] if n == 0 else frames[half:] if n == 1 else []
        for frame in part:
            await conv.send({"type": "pricing", "message": frame["base64"]})
        if n == 0:
            conv.drop()

    symbols = ["AAPL", "MSFT", "SPY", "TSLA", "BTC-USD"]
    with ScriptedServer(streamer) as server:
        sent, code, out, err = run_until_ticks(
            ["yahoo", *symbols, "--url", server.url],
            {},
            broker,
            "yahoo",
            len(YAHOO_TICKS),
            tmp_path,
        )
    assert code == 0, err
    assert "Traceback" not in err
    assert order([t for _, ticks in sent for t in ticks]) == order(YAHOO_TICKS)
    assert_frames_follow_the_contract(sent)
    assert [inbox[0] for inbox in server.inboxes[:2]] == [{"subscribe": symbols}] * 2
    assert "gap: the stream was down" in err
    assert f"yahoo feed sent {len(YAHOO_TICKS)} ticks" in out


def test_feed_without_a_source_runs_the_simulator(broker, tmp_path):
    feed = Feed([], {"KAFKA_BOOTSTRAP": broker}, tmp_path)
    try:
        frames = read_frames(broker, "sim", 1)
    finally:
        code, _, err = feed.stop()
    assert frames and code == 0, err
    assert "Traceback" not in err
