"""Bad input at scale (hypothesis): every message is either used or rejected with a
reason, the counts add up, and neither the worker nor the gateway goes down."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time

import msgspec
from confluent_kafka import Producer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from agents.analytics.bars import PartitionBars
from agents.analytics.tick_checks import TickGate, decode_message
from gateway.requests import parse_request
from rotation.config import load_universe
from streams.partitioning import partition_for, partitioner
from streams.topics import DEFAULT_TOPICS

UNIVERSE = load_universe()
SYMBOLS = sorted(UNIVERSE.symbols)
PARTITION = partition_for("IWM", DEFAULT_TOPICS.ticks.partitions)
NOW_US = 1_790_000_000_000_000

prices = st.one_of(
    st.floats(min_value=0.01, max_value=1e4),
    st.sampled_from([0, -1.5, "NaN", None, "12.5", 1e400]),
)
tick_like = st.fixed_dictionaries(
    {
        "symbol": st.one_of(st.sampled_from(SYMBOLS), st.sampled_from(["ZZZZ", "", "iwm", 7])),
        "ts": st.one_of(
            st.integers(NOW_US - 10**9, NOW_US + 10**9),
            st.sampled_from([-1, 0, 2**60, "yesterday"]),
        ),
        "price": prices,
    },
    optional={"size": st.one_of(st.floats(0, 1e6), st.just(-3)), "source": st.text(max_size=5)},
)
element = st.one_of(tick_like, st.integers(), st.text(max_size=10), st.none(), st.just({}))


def _columns(n: int) -> st.SearchStrategy[dict]:
    """A version 2 (columnar) frame of ``n`` ticks, with bad entries and bad lengths."""
    column = lambda values: st.lists(values, min_size=n, max_size=n)  # noqa: E731
    return st.fixed_dictionaries(
        {
            "v": st.sampled_from([2, 2, 2, 3]),
            "symbols": st.lists(
                st.one_of(st.sampled_from(SYMBOLS), st.sampled_from(["ZZZZ", "", "iwm"])),
                min_size=1,
                max_size=4,
            ),
            "symbol": column(st.integers(-1, 4)),
            "ts": st.one_of(
                column(st.integers(NOW_US - 10**9, NOW_US + 10**9)),
                column(st.sampled_from([-1, 0, 2**60, NOW_US])),
                st.lists(st.integers(0, NOW_US), max_size=3),  # a length of its own
            ),
            "price": column(st.one_of(st.floats(min_value=0.01, max_value=1e4), st.just(-1.5))),
        },
        optional={
            "size": column(st.one_of(st.floats(0, 1e6), st.just(-3))),
            "bid": column(st.one_of(st.none(), st.floats(0.01, 1e4), st.just(0))),
            "source": st.text(max_size=5),
        },
    )


message = st.one_of(
    st.binary(max_size=200),
    st.integers(1, 10).flatmap(_columns).map(lambda frame: json.dumps(frame).encode()),
    st.lists(element, max_size=12).map(lambda ts: json.dumps({"ticks": ts}).encode()),
    tick_like.map(lambda t: json.dumps(t).encode()),
    st.recursive(st.none() | st.integers(), lambda c: st.lists(c, max_size=3), max_leaves=20).map(
        lambda v: json.dumps(v).encode()
    ),
)


def elements_of(data: bytes) -> int:
    """What the counts must add up to: the elements of a frame, else the one message."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return 1
    if isinstance(document, dict) and isinstance(document.get("ticks"), list):
        return max(1, len(document["ticks"]))
    if isinstance(document, dict) and isinstance(document.get("symbol"), list):
        return max(1, len(document["symbol"]))  # a columnar frame
    return 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message, min_size=1, max_size=8))
def test_every_tick_is_used_or_rejected_with_a_reason(messages):
    gate = TickGate(PARTITION, partitioner(DEFAULT_TOPICS.ticks.partitions), SYMBOLS)
    bars = PartitionBars.every(UNIVERSE.bar_seconds, UNIVERSE.allowed_lateness_seconds)
    for data in messages:
        decoded = decode_message(data)
        passed, refused = gate.check(decoded, NOW_US)
        refused = decoded.rejected + refused
        update = bars.apply(passed)
        used = len(passed) - len(update.late) - len(update.duplicates)
        accounted = used + len(update.late) + len(update.duplicates) + len(refused)
        assert accounted == elements_of(data) or (
            not decoded.ticks and len(refused) == 1  # the whole message refused as one
        ), (data, passed, refused)
        for rejection in refused:
            assert rejection.reason in {
                "malformed",
                "invalid",
                "unknown_symbol",
                "wrong_partition",
                "future",
                "past",
            }
            assert rejection.detail
        for tick in passed.ticks():
            assert tick.symbol in UNIVERSE.symbols and math.isfinite(tick.price) and tick.price > 0


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_every_client_frame_is_a_request_or_a_named_error(frame):
    answer = parse_request(frame)
    assert answer is not None
    if type(answer).__name__ == "Error":
        assert answer.code and answer.message


def test_the_running_system_takes_random_input_and_stays_up(system):
    rng = random.Random(11)
    examples = _examples(rng)
    producer = Producer({"bootstrap.servers": system.bootstrap, "broker.address.family": "v4"})
    for data in examples:
        producer.produce(
            DEFAULT_TOPICS.ticks.name,
            value=data,
            partition=rng.randrange(DEFAULT_TOPICS.ticks.partitions),
        )
    producer.flush(30)
    asyncio.run(_throw_at_gateway(system.gateway_url, examples))
    asyncio.run(_metrics_still_flow(system.gateway_url))
    for name in ("worker", "gateway", "feed"):
        assert system.children[name].failed() is None, system.children[name].failed()


def _examples(rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(200):
        kind = rng.randrange(4)
        if kind == 0:
            out.append(rng.randbytes(rng.randrange(1, 120)))
        elif kind == 1:
            ticks = [
                {
                    "symbol": rng.choice([*SYMBOLS, "NOPE"]),
                    "ts": rng.choice([1, NOW_US, 2**60]),
                    "price": rng.choice([1.0, -1.0, 0.0, 500.0]),
                }
                for _ in range(rng.randrange(0, 5))
            ]
            out.append(json.dumps({"ticks": ticks}).encode())
        elif kind == 2:
            out.append(b'{"symbol": "IWM", "ts": "x", "price": [1]}')
        else:
            out.append(msgspec.json.encode([rng.random() for _ in range(rng.randrange(5))]))
    return out


async def _throw_at_gateway(url: str, frames: list[bytes]) -> None:
    """Random frames within the request rate limit (20/s sustained): each gets an answer
    and the connection stays usable."""
    async with connect(url) as ws:
        await ws.recv()  # welcome
        for i, frame in enumerate(frames[:60]):
            await ws.send(frame.decode("latin-1"))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert answer["type"] in ("error", "subscribed", "pong", "authenticated"), answer
            if i % 10 == 9:
                await asyncio.sleep(0.6)
        await ws.send(json.dumps({"op": "subscribe", "channels": ["signals"], "id": "last"}))
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline
            answer = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if answer.get("id") == "last":
                assert answer["type"] == "subscribed", answer
                return


async def _metrics_still_flow(url: str) -> None:
    async with connect(url) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["metrics"]}))
        seen = 0
        deadline = time.monotonic() + 120
        while seen < 20:
            assert time.monotonic() < deadline, "metrics stopped after the random input"
            if json.loads(await asyncio.wait_for(ws.recv(), 120)).get("type") == "metrics":
                seen += 1
