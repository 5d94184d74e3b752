"""The gateway against a real broker and real websocket clients over loopback.

Each test starts its own Tansu broker (0.2 s) and writes exactly the records it needs
to rotation.signals / rotation.metrics, then runs the gateway in the test's event
loop. Every wait has a generous limit that only stops a hung test; nothing here
asserts how fast anything is (benchmarks/gateway.py measures that).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from agents.analytics.rotation import signal_id
from gateway.server import Gateway
from gateway.settings import GatewaySettings
from rotation.broker import embedded_broker
from streams.admin import ensure_topics
from streams.records import MetricsSnapshot, PairStats, RRGStats, Signal
from streams.topics import DEFAULT_TOPICS
from tests.helpers import assert_valid

WAIT = 60.0  # seconds; a guard against a hung test, not a speed requirement
T0 = 1_790_000_000_000_000


# Records and Kafka -------------------------------------------------------------------


def make_signal(
    i: int,
    subject: str = "pair:IWM/QQQ",
    kind: str = "rs_crossover",
    score: float = 0.5,
    summary: str = "IWM/QQQ crossed above its SMA",
    level: str = "supporting",
) -> Signal:
    return Signal(
        id=signal_id(kind, subject, "up", T0 + i),
        kind=kind,  # type: ignore[arg-type]
        subject=subject,
        direction="up",
        score=score,
        window_start=T0,
        window_end=T0 + i,
        ts=T0 + i,
        summary=summary,
        evidence={"rs": 0.4, "leader": "IWM"},
        level=level,  # type: ignore[arg-type]
    )


def make_metrics(i: int, subject: str = "pair:IWM/QQQ", tail: int = 8) -> MetricsSnapshot:
    rrg = RRGStats(101.0, 99.5, "improving", False, [(100.0 + k / 10, 99.0) for k in range(tail)])
    numerator, denominator = subject.removeprefix("pair:").split("/")
    return MetricsSnapshot(
        subject=subject,
        kind="pair",
        ts=T0 + i * 900_000_000,
        bar_seconds=900,
        bars=i,
        pair=PairStats(numerator, denominator, "configured", 0.42 + i / 1000, rrg=rrg),
    )


@pytest.fixture
def kafka() -> Iterator[str]:
    """A fresh broker with the declared topics, for one test."""
    with embedded_broker() as (bootstrap, _proc):
        asyncio.run(ensure_topics(bootstrap))
        yield bootstrap


async def produce(bootstrap: str, records: list[Signal | MetricsSnapshot]) -> None:
    """Append ``records`` to their topics, in order, and wait until the broker has them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for record in records:
            topic = (
                DEFAULT_TOPICS.signals.name
                if isinstance(record, Signal)
                else DEFAULT_TOPICS.metrics.name
            )
            await producer.send(topic, msgspec.json.encode(record), key=record.subject.encode())
        await producer.flush()
    finally:
        await producer.stop()


# Gateway and clients ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_gateway(bootstrap: str, **settings: Any) -> AsyncIterator[Gateway]:
    """A gateway in this event loop on a free port; stopped (1001) on exit."""
    gateway = Gateway(bootstrap, GatewaySettings(**{"port": 0, **settings}))
    stop: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(gateway.serve(stop))
    try:
        async with asyncio.timeout(WAIT):
            while gateway.port == 0 or not gateway.reader.caught_up.is_set():
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield gateway
    finally:
        if not stop.done():
            stop.set_result(1001)
        await task


def url_of(gateway: Gateway, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{gateway.port}{path}"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next message, checked against its schema in schemas/."""
    message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert_valid(f"ws.server.{message['type']}.json", message)
    return message


async def recv_data(ws: ClientConnection, n: int) -> list[dict[str, Any]]:
    """The next ``n`` data messages (heartbeats and the like skipped)."""
    found = []
    while len(found) < n:
        message = await recv(ws)
        if message["type"] in ("signal", "metrics"):
            found.append(message)
    return found


async def subscribe(ws: ClientConnection, **request: Any) -> list[dict[str, Any]]:
    """Send a subscribe; return the ack, then per channel its header and the messages
    the header announces."""
    await ws.send(json.dumps({"op": "subscribe", **request}))
    ack = await recv(ws)
    assert ack["type"] == "subscribed", ack
    answer = [ack]
    for _ in dict.fromkeys(request["channels"]):
        header = await recv(ws)
        assert header["type"] in ("snapshot", "resumed"), header
        answer.append(header)
        answer.extend([await recv(ws) for _ in range(header["count"])])
    return answer


async def open_client(gateway: Gateway, **kwargs: Any) -> ClientConnection:
    ws = await connect(url_of(gateway), compression=None, **kwargs)
    welcome = await recv(ws)
    assert welcome["type"] == "welcome"
    return ws


async def until_seq(gateway: Gateway, channel: str, seq: int) -> None:
    """Wait until the gateway has numbered ``seq`` messages on ``channel``."""
    async with asyncio.timeout(WAIT):
        while gateway.history.head(channel).seq < seq:
            await asyncio.sleep(0.02)


def http_get(gateway: Gateway, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{gateway.port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# Snapshot, live data, channels and filters ---------------------------------------------


async def test_welcome_ack_snapshot_then_live_with_gapless_seq(kafka):
    await produce(kafka, [make_signal(i) for i in range(1, 4)] + [make_metrics(1)])
    async with (
        running_gateway(kafka, heartbeat_interval=30) as gateway,
        connect(url_of(gateway)) as ws,
    ):
        welcome = await recv(ws)
        assert welcome["protocol"] == 2 and welcome["auth_required"] is False
        assert welcome["limits"]["max_queue"] == 1024
        answer = await subscribe(ws, channels=["signals", "metrics"], id=1)
        ack, signals_header, *rest = answer
        assert ack == {
            "type": "subscribed",
            "channels": ["metrics", "signals"],
            "filters": {},
            "id": 1,
        }
        assert signals_header["type"] == "snapshot" and signals_header["reason"] is None
        assert (signals_header["seq"], signals_header["count"]) == (3, 3)
        assert [m["seq"] for m in rest[:3]] == [1, 2, 3]
        assert rest[3]["type"] == "snapshot" and rest[3]["seq"] == 1
        assert rest[4]["data"] == json.loads(msgspec.json.encode(make_metrics(1)))
        epoch = signals_header["epoch"]
        assert epoch and all(m["epoch"] == epoch for m in rest[:3])

        await produce(kafka, [make_signal(4), make_metrics(2), make_signal(5)])
        live = await recv_data(ws, 3)
        # Each channel in its own order; the two topics interleave as Kafka fetches them.
        assert [m["seq"] for m in live if m["channel"] == "signals"] == [4, 5]
        assert [m["seq"] for m in live if m["channel"] == "metrics"] == [2]
        live.sort(key=lambda m: m["channel"], reverse=True)
        assert live[0]["data"]["id"] == make_signal(4).id
        assert live[0]["ts"] == make_signal(4).ts and live[0]["emit_ts"] > 0


async def test_subject_channels_and_filters(kafka):
    records = [
        make_signal(1, "pair:IWM/QQQ", "rs_crossover", 0.2),
        make_signal(2, "pair:RSP/SPY", "rs_breakout", 0.9),
        make_signal(3, "pair:IWM/QQQ", "rotation_regime", 0.8),
        make_metrics(1, "pair:IWM/QQQ"),
        make_metrics(1, "pair:RSP/SPY"),
    ]
    await produce(kafka, records)
    async with running_gateway(kafka) as gateway, connect(url_of(gateway)) as ws:
        await recv(ws)
        answer = await subscribe(ws, channels=["signals:pair:IWM/QQQ"])
        header, *messages = answer[1:]
        # A subject channel counts its own messages, gapless from 1.
        assert (header["seq"], [m["seq"] for m in messages]) == (2, [1, 2])
        assert {m["data"]["subject"] for m in messages} == {"pair:IWM/QQQ"}

        answer = await subscribe(
            ws, channels=["signals"], filter={"min_score": 0.5, "kinds": ["rs_breakout"]}
        )
        assert answer[0]["filters"] == {"signals": {"kinds": ["rs_breakout"], "min_score": 0.5}}
        assert [m["data"]["id"] for m in answer[2:]] == [records[1].id]

        answer = await subscribe(ws, channels=["metrics"], filter={"subjects": ["pair:RSP/SPY"]})
        assert [m["data"]["subject"] for m in answer[2:]] == ["pair:RSP/SPY"]

        await produce(
            kafka,
            [make_signal(4, "pair:RSP/SPY", "rs_breakout", 0.1), make_signal(5, score=0.7)],
        )
        await produce(kafka, [make_signal(6, "pair:IWM/QQQ", "rs_breakout", 0.6)])
        # Only the last one passes the filter of `signals`; the subject channel gets
        # both IWM/QQQ signals.
        got = await recv_data(ws, 3)
        assert [(m["channel"], m["seq"]) for m in got] == [
            ("signals:pair:IWM/QQQ", 3),
            ("signals", 6),
            ("signals:pair:IWM/QQQ", 4),
        ]

        await ws.send(json.dumps({"op": "unsubscribe", "channels": ["signals"], "id": "u"}))
        ack = await recv(ws)
        assert ack["channels"] == ["metrics", "signals:pair:IWM/QQQ"] and ack["id"] == "u"


async def test_a_levels_filter_passes_only_those_levels(kafka):
    records = [
        make_signal(1, "pair:IWM/QQQ", "rotation_regime", 50.0, level="headline"),
        make_signal(2, "pair:RSP/SPY", "rs_crossover", 60.0, level="supporting"),
        make_signal(3, "pair:AAPL/SPY", "rs_crossover", 70.0, level="detail"),
    ]
    await produce(kafka, records)
    async with running_gateway(kafka) as gateway, connect(url_of(gateway)) as ws:
        await recv(ws)
        answer = await subscribe(ws, channels=["signals"], filter={"levels": ["headline"]})
        assert answer[0]["filters"] == {"signals": {"levels": ["headline"]}}
        assert [m["data"]["id"] for m in answer[2:]] == [records[0].id]
        assert answer[2]["data"]["level"] == "headline"

        answer = await subscribe(
            ws, channels=["signals"], filter={"levels": ["headline", "supporting"]}
        )
        assert [m["data"]["id"] for m in answer[2:]] == [records[0].id, records[1].id]

        # Live messages: only the headline and supporting ones come through.
        await produce(
            kafka,
            [
                make_signal(4, "pair:MSFT/SPY", "rs_crossover", 80.0, level="detail"),
                make_signal(5, "group:small_caps", "group_crossovers", 55.0),
                make_signal(6, "pair:IWM/QQQ", "rotation_regime", 75.0, level="headline"),
            ],
        )
        got = await recv_data(ws, 2)
        assert [(m["data"]["kind"], m["data"]["level"]) for m in got] == [
            ("group_crossovers", "supporting"),
            ("rotation_regime", "headline"),
        ]
        assert [m["seq"] for m in got] == [5, 6]  # seq counts the detail one it skipped


# Resume ---------------------------------------------------------------------------------


async def test_resume_after_a_reconnect_sends_exactly_the_missed_messages(kafka):
    await produce(kafka, [make_signal(i) for i in range(1, 6)])
    async with running_gateway(kafka) as gateway:
        async with connect(url_of(gateway)) as ws:
            await recv(ws)
            answer = await subscribe(ws, channels=["signals", "signals:pair:IWM/QQQ"])
            positions = {h["channel"]: h for h in answer if h["type"] == "snapshot"}
        await produce(kafka, [make_signal(i) for i in range(6, 9)])
        await until_seq(gateway, "signals", 8)
        async with connect(url_of(gateway)) as ws:
            await recv(ws)
            since = {c: {"epoch": h["epoch"], "seq": h["seq"]} for c, h in positions.items()}
            answer = await subscribe(ws, channels=list(since), since=since)
            for channel in since:
                header = next(m for m in answer if m.get("channel") == channel)
                assert header["type"] == "resumed"
                assert (header["from_seq"], header["to_seq"], header["count"]) == (6, 8, 3)
                replayed = [m for m in answer if m["type"] == "signal" and m["channel"] == channel]
                assert [m["seq"] for m in replayed] == [6, 7, 8]
                assert [m["data"]["id"] for m in replayed] == [make_signal(i).id for i in (6, 7, 8)]
            await produce(kafka, [make_signal(9)])
            live = await recv_data(ws, 2)
            assert sorted(m["seq"] for m in live) == [9, 9]


async def test_resume_that_is_impossible_gets_a_full_snapshot_and_the_reason(kafka):
    await produce(kafka, [make_signal(i) for i in range(1, 11)])
    async with running_gateway(kafka, keep_signals=4) as gateway:
        epoch = gateway.history.head("signals").epoch
        cases = [
            ({"epoch": epoch, "seq": 2}, "older than the retained history, which starts at 7"),
            ({"epoch": "0123456789abcdef", "seq": 9}, "is not the channel's epoch"),
            ({"epoch": epoch, "seq": 11}, "ahead of the channel"),
        ]
        for since, reason in cases:
            async with connect(url_of(gateway)) as ws:
                await recv(ws)
                answer = await subscribe(ws, channels=["signals"], since={"signals": since})
                header, *messages = answer[1:]
                # Never part of a replay: the whole retained state, announced as a snapshot.
                assert header["type"] == "snapshot" and reason in header["reason"]
                assert [m["seq"] for m in messages] == [7, 8, 9, 10]
        async with connect(url_of(gateway)) as ws:
            await recv(ws)
            answer = await subscribe(ws, channels=["signals"], since={"signals": since})
            assert answer[1]["type"] == "snapshot"
            answer = await subscribe(
                ws, channels=["signals"], since={"signals": {"epoch": epoch, "seq": 10}}
            )
            assert answer[1]["type"] == "resumed" and answer[1]["count"] == 0


async def test_resume_across_a_gateway_restart_keeps_epoch_and_seq(kafka):
    await produce(kafka, [make_signal(i) for i in range(1, 4)] + [make_metrics(1)])
    async with running_gateway(kafka) as gateway:
        port = gateway.port
        async with connect(url_of(gateway)) as ws:
            await recv(ws)
            answer = await subscribe(ws, channels=["signals", "metrics:pair:IWM/QQQ"])
            seen = {h["channel"]: h for h in answer if h["type"] == "snapshot"}
            before = [m for m in answer if m["type"] == "signal"]
    # The gateway is gone; the pipeline goes on.
    await produce(kafka, [make_signal(4), make_signal(4), make_metrics(2), make_signal(5)])
    async with running_gateway(kafka, port=port) as gateway, connect(url_of(gateway)) as ws:
        await recv(ws)
        since = {c: {"epoch": h["epoch"], "seq": h["seq"]} for c, h in seen.items()}
        answer = await subscribe(ws, channels=list(since), since=since)
        headers = {m["channel"]: m for m in answer if m["type"] == "resumed"}
        assert set(headers) == set(since), answer
        signals = [m for m in answer if m["type"] == "signal"]
        assert [(m["seq"], m["data"]["id"]) for m in signals] == [
            (4, make_signal(4).id),
            (5, make_signal(5).id),
        ]
        assert all(m["epoch"] == before[0]["epoch"] for m in signals)
        metrics = [m for m in answer if m["type"] == "metrics"]
        assert [(m["seq"], m["data"]["bars"]) for m in metrics] == [(2, 2)]


# At-least-once Kafka, slow clients -----------------------------------------------------


async def test_duplicate_kafka_delivery_gives_one_message(kafka):
    async with running_gateway(kafka) as gateway, connect(url_of(gateway)) as ws:
        await recv(ws)
        await subscribe(ws, channels=["signals", "metrics"])
        await produce(
            kafka,
            [
                make_signal(1),
                make_signal(1),  # a retried send
                make_metrics(1),
                make_metrics(1),  # a worker replaying after a restart
                make_signal(2),
                make_metrics(2),
                make_metrics(1),  # an older snapshot replayed late
                make_signal(3),
            ],
        )
        got = await recv_data(ws, 5)
        await until_seq(gateway, "signals", 3)
        by_channel = {
            c: [m["seq"] for m in got if m["channel"] == c] for c in ("signals", "metrics")
        }
        assert by_channel == {"signals": [1, 2, 3], "metrics": [1, 2]}
        assert [m["data"]["id"] for m in got if m["type"] == "signal"] == [
            make_signal(i).id for i in (1, 2, 3)
        ]
        assert gateway.history.duplicates == {"signals": 1, "metrics": 2}
        _status, text = await asyncio.to_thread(http_get, gateway, "/metrics")
        assert 'rotation_gateway_duplicates_dropped{channel="metrics"} 2' in text


def slow_socket() -> socket.socket:
    """A connected socket with a tiny receive buffer: a client on a bad link."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def test_slow_client_is_closed_1013_and_the_fast_one_gets_everything(kafka):
    big = "x" * 2000
    rounds, batch = 20, 200  # ~9 MB in all: more than the kernel buffers hold for the slow one
    async with running_gateway(kafka, max_queue=256, shutdown_timeout=WAIT) as gateway:
        sock = slow_socket()
        sock.connect(("127.0.0.1", gateway.port))
        slow = await connect(url_of(gateway), sock=sock, max_queue=1)
        fast = await connect(url_of(gateway))
        for ws in (slow, fast):
            await recv(ws)
            await subscribe(ws, channels=["signals"])
        got: list[dict[str, Any]] = []
        for r in range(rounds):
            first = r * batch + 1
            await produce(kafka, [make_signal(i, summary=big) for i in range(first, first + batch)])
            got.extend(await recv_data(fast, batch))
        # The fast client got every message while the slow one has read none.
        count = rounds * batch
        assert [m["seq"] for m in got] == list(range(1, count + 1))
        tail: list[dict[str, Any]] = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                tail.append(json.loads(await asyncio.wait_for(slow.recv(), WAIT)))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert tail[-1]["type"] == "error" and tail[-1]["code"] == "slow_client"
        assert_valid("ws.server.error.json", tail[-1])
        received = [m["seq"] for m in tail if m["type"] == "signal"]
        assert received == list(range(1, len(received) + 1)) and len(received) < count
        assert gateway.stats.slow_client_closes == 1
        await fast.close()


async def test_a_slow_metrics_client_gets_the_newest_snapshots_and_is_told_what_it_skipped(
    kafka,
):
    subjects = ["pair:IWM/QQQ", "pair:RSP/SPY"]
    count = 600  # ~20 kB each (long RRG tails): far more than the socket buffers hold
    records = [make_metrics(i // 2 + 1, subjects[i % 2], tail=800) for i in range(count)]
    async with running_gateway(kafka, max_queue=8) as gateway:
        sock = slow_socket()
        sock.connect(("127.0.0.1", gateway.port))
        slow = await connect(url_of(gateway), sock=sock, max_queue=1, max_size=2**22)
        await recv(slow)
        await subscribe(slow, channels=["metrics"])
        await produce(kafka, records)
        await until_seq(gateway, "metrics", count)
        seqs: list[int] = []
        skipped: list[int] = []
        while len(seqs) + len(skipped) < count:
            message = await recv(slow)
            if message["type"] == "conflated":
                skipped.extend(message["seqs"])
            elif message["type"] == "metrics":
                seqs.append(message["seq"])
        # Every seq is either delivered or named as skipped: no silent gap, and the
        # client stayed connected with the newest snapshot of both subjects.
        assert sorted(seqs + skipped) == list(range(1, count + 1))
        assert seqs[-2:] == [count - 1, count] and seqs == sorted(seqs)
        assert skipped and gateway.stats.slow_client_closes == 0
        await slow.close()


# Auth ----------------------------------------------------------------------------------

TOKEN = "s3cret-token"


async def test_bearer_header_auth(kafka):
    async with running_gateway(kafka, token=TOKEN) as gateway:
        with pytest.raises(InvalidStatus) as refused:
            await connect(url_of(gateway), additional_headers={"Authorization": "Bearer nope"})
        assert refused.value.response.status_code == 401
        async with connect(
            url_of(gateway), additional_headers={"Authorization": f"Bearer {TOKEN}"}
        ) as ws:
            assert (await recv(ws))["auth_required"] is False
            assert (await subscribe(ws, channels=["signals"]))[0]["type"] == "subscribed"
        assert gateway.stats.connections_rejected["unauthorized"] == 1


async def test_browser_style_client_authenticates_with_a_first_message(kafka):
    await produce(kafka, [make_signal(1)])
    # What a browser sends: an Origin, no Authorization header (a page of another origin
    # than the gateway's own: it is in allowed_origins).
    async with (
        running_gateway(kafka, token=TOKEN, allowed_origins=("http://127.0.0.1:3000",)) as gateway,
        connect(url_of(gateway), origin=Origin("http://127.0.0.1:3000")) as ws,
    ):
        assert (await recv(ws))["auth_required"] is True
        await ws.send(json.dumps({"op": "auth", "token": TOKEN, "id": "a"}))
        assert await recv(ws) == {"type": "authenticated", "id": "a"}
        answer = await subscribe(ws, channels=["signals"])
        assert answer[2]["data"]["id"] == make_signal(1).id


@pytest.mark.parametrize(
    ("first", "why"),
    [
        ({"op": "auth", "token": "wrong"}, "wrong token"),
        ({"op": "auth", "token": "s3cret-tökén"}, "wrong token"),
        ({"op": "subscribe", "channels": ["signals"]}, "authenticate first"),
        ("{not json", "authenticate first"),
        (None, "no auth request"),
    ],
)
async def test_auth_failures_get_unauthorized_and_close_1008(kafka, first, why):
    async with (
        running_gateway(kafka, token=TOKEN, auth_timeout=0.3) as gateway,
        connect(url_of(gateway)) as ws,
    ):
        assert (await recv(ws))["auth_required"] is True
        if first is not None:
            await ws.send(first if isinstance(first, str) else json.dumps(first))
        error = await recv(ws)
        assert error["code"] == "unauthorized" and why in error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


# Bad input and limits -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code", "fragment"),
    [
        ("{nope", "bad_json", "not valid JSON"),
        (b"\x00\xff binary garbage", "bad_json", "not valid JSON"),
        ("[1, 2, 3]", "bad_request", "expected a JSON object"),
        ('"subscribe"', "bad_request", "expected a JSON object"),
        ('{"op": "fly"}', "unknown_op", "unknown op 'fly'"),
        ('{"op": 7}', "unknown_op", "unknown op 7"),
        ('{"op": "subscribe", "channels": ["gossip"], "id": "a"}', "unknown_channel", "gossip"),
        ('{"op": "subscribe", "channels": ["metrics:stock:IWM"]}', "unknown_channel", "stock"),
        ('{"op": "subscribe", "channels": "signals"}', "bad_request", "Expected `array`"),
        ('{"op": "subscribe", "channels": ["signals"], "id": [1]}', "bad_request", "`$.id`"),
        (
            '{"op": "subscribe", "channels": ["signals"], "since": {"signals": {"seq": -1}}}',
            "bad_request",
            "`$.since[...].seq`",
        ),
        (
            '{"op": "subscribe", "channels": ["signals"], "filter": {"kinds": ["moon"]}}',
            "bad_request",
            "kinds ['moon']",
        ),
        (
            '{"op": "subscribe", "channels": ["metrics"], "filter": {"min_score": 1}}',
            "bad_request",
            "min_score applies to signal channels only",
        ),
        (
            '{"op": "subscribe", "channels": ["signals"], "filter": {"levels": ["top"]}}',
            "bad_request",
            "`$.filter.levels[0]`; levels are ['headline', 'supporting', 'detail']",
        ),
        (
            '{"op": "subscribe", "channels": ["metrics"], "filter": {"levels": ["headline"]}}',
            "bad_request",
            "levels applies to signal channels only",
        ),
        ('{"op": "auth", "token": 5}', "bad_request", "Expected `str`"),
        ("x" * 5000, "too_large", "limit is 4096"),
    ],
)
async def test_malformed_requests_get_the_right_error_and_the_connection_stays(
    kafka, frame, code, fragment
):
    async with running_gateway(kafka) as gateway, connect(url_of(gateway)) as ws:
        await recv(ws)
        await ws.send(frame)
        error = await recv(ws)
        assert error["type"] == "error" and error["code"] == code
        assert fragment in error["message"]
        await ws.send(json.dumps({"op": "ping", "id": 9}))
        pong = await recv(ws)
        assert pong["type"] == "pong" and pong["id"] == 9


async def test_limits_too_many_subscriptions_flood_frame_size_and_connections(kafka):
    async with running_gateway(
        kafka,
        max_subscriptions=2,
        max_requests_per_second=5,
        request_burst=5,
        flood_limit=20,
        max_frame_bytes=8192,
        max_connections_per_address=3,
    ) as gateway:
        async with connect(url_of(gateway)) as ws:
            await recv(ws)
            await ws.send(
                json.dumps(
                    {"op": "subscribe", "channels": ["signals", "metrics", "metrics:group:x"]}
                )
            )
            error = await recv(ws)
            assert error["code"] == "too_many_subscriptions" and "limit of 2" in error["message"]

        async with connect(url_of(gateway)) as ws:
            await recv(ws)
            for _ in range(100):
                await ws.send('{"op": "ping"}')
            codes = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    codes.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)).get("code"))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert "rate_limited" in codes

        async with connect(url_of(gateway)) as ws:
            await recv(ws)
            await ws.send("x" * 10_000)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

        clients = [await connect(url_of(gateway)) for _ in range(3)]
        with pytest.raises(InvalidStatus) as refused:
            await connect(url_of(gateway))
        assert refused.value.response.status_code == 429
        for ws in clients:
            await ws.close()


# Heartbeat, shutdown, HTTP -------------------------------------------------------------


async def test_heartbeats_count_up(kafka):
    async with (
        running_gateway(kafka, heartbeat_interval=0.1) as gateway,
        connect(url_of(gateway)) as ws,
    ):
        assert (await recv(ws))["heartbeat_interval"] == 0.1
        first, second = await recv(ws), await recv(ws)
        assert first["type"] == second["type"] == "heartbeat"
        assert second["n"] == first["n"] + 1


@pytest.mark.parametrize("code", [1012, 1001])
async def test_shutdown_notice_then_close(kafka, code):
    gateway = Gateway(kafka, GatewaySettings(port=0))
    stop: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(gateway.serve(stop))
    async with asyncio.timeout(WAIT):
        while not gateway.reader.caught_up.is_set():
            await asyncio.sleep(0.02)
    ws = await open_client(gateway)
    stop.set_result(code)
    notice = await recv(ws)
    assert notice["type"] == "shutdown" and notice["code"] == code
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    await task


async def test_health_and_prometheus_metrics(kafka):
    await produce(kafka, [make_signal(1), make_metrics(1)])
    async with running_gateway(kafka) as gateway, connect(url_of(gateway)) as ws:
        await recv(ws)
        await subscribe(ws, channels=["signals"])
        status, body = await asyncio.to_thread(http_get, gateway, "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "ok" and health["kafka"] is True
        assert health["caught_up"] is True and health["lag_records"] == 0
        assert health["clients"] == 1 and health["channels"]["signals"]["seq"] == 1
        status, text = await asyncio.to_thread(http_get, gateway, "/metrics")
        assert status == 200
        for line in (
            "rotation_gateway_connections 1",
            "rotation_gateway_subscriptions 1",
            'rotation_gateway_kafka_records_total{topic="rotation.signals"} 1',
            'rotation_gateway_kafka_lag_records{topic="rotation.metrics",partition="0"} 0',
            "rotation_gateway_slow_client_closes_total 0",
            "# TYPE rotation_gateway_messages_sent_total counter",
        ):
            assert line in text.splitlines(), line
        assert (await asyncio.to_thread(http_get, gateway, "/nope"))[0] == 404


async def test_a_topic_of_several_partitions_gets_a_new_epoch_on_every_start():
    """Records of several partitions interleave differently on every read, so numbering
    cannot be rebuilt: a restarted gateway starts a new epoch and a resume gets a snapshot."""
    with embedded_broker() as (bootstrap, _proc):
        await ensure_topics(
            bootstrap,
            (dataclasses.replace(DEFAULT_TOPICS.signals, partitions=2), DEFAULT_TOPICS.metrics),
        )
        await produce(bootstrap, [make_signal(i) for i in range(1, 4)])
        async with running_gateway(bootstrap) as gateway:
            first = gateway.history.head("signals")
            assert gateway.reader.lag() == {
                TopicPartition(DEFAULT_TOPICS.signals.name, 0): 0,
                TopicPartition(DEFAULT_TOPICS.signals.name, 1): 0,
                TopicPartition(DEFAULT_TOPICS.metrics.name, 0): 0,
            }
        async with running_gateway(bootstrap) as gateway:
            second = gateway.history.head("signals")
            assert second.seq == first.seq == 3 and second.epoch != first.epoch
            async with connect(url_of(gateway)) as ws:
                await recv(ws)
                since = {"signals": msgspec.to_builtins(first)}
                answer = await subscribe(ws, channels=["signals"], since=since)
                assert answer[1]["type"] == "snapshot" and "epoch" in answer[1]["reason"]
