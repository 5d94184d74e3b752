"""The running system on the real broker: sim -> Kafka -> worker -> gateway -> clients."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from websockets.asyncio.client import connect

from streams.codec import encode
from streams.partitioning import partition_for
from streams.records import Tick
from streams.topics import DEFAULT_TOPICS
from tests.helpers import assert_valid

WAIT = 120.0  # seconds: generous for a loaded 2-core machine


def confluent_consumer(bootstrap: str, topic: str, partitions: int) -> Consumer:
    """A consumer from a different Kafka client library than the project's (librdkafka)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    return consumer


def poll_until(consumer: Consumer, done, timeout: float = WAIT) -> list[bytes]:
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            if done(values):
                return values
            continue
        assert message.error() is None, message.error()
        values.append(message.value())
        if done(values):
            return values
    raise AssertionError(f"timed out after {timeout} s with {len(values)} messages")


async def test_websocket_subscriber_gets_valid_metrics_and_a_signal(system):
    seen: dict[str, list[int]] = {"signals": [], "metrics": []}
    heads: dict[str, int] = {}
    async with connect(system.gateway_url) as ws:
        welcome = json.loads(await ws.recv())
        assert_valid("ws.server.welcome.json", welcome)
        await ws.send(json.dumps({"op": "subscribe", "channels": ["signals", "metrics"], "id": 1}))
        ack = json.loads(await ws.recv())
        assert_valid("ws.server.subscribed.json", ack)
        assert ack == {
            "type": "subscribed",
            "channels": ["metrics", "signals"],
            "filters": {},
            "id": 1,
        }
        snapshot_left = {}
        deadline = time.monotonic() + WAIT
        while not (seen["signals"] and len(seen["metrics"]) >= 5):
            assert time.monotonic() < deadline, f"no signal within {WAIT} s: {seen}"
            message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            assert_valid(f"ws.server.{message['type']}.json", message)
            if message["type"] == "snapshot":
                heads[message["channel"]] = message["seq"]
                snapshot_left[message["channel"]] = message["count"]
            elif message["type"] in ("signal", "metrics"):
                channel = message["channel"]
                if snapshot_left.get(channel):
                    snapshot_left[channel] -= 1  # the snapshot: current state, not a sequence
                else:
                    seen[channel].append(message["seq"])
    # Live messages follow the snapshot with gapless, increasing seq numbers.
    for channel, seqs in seen.items():
        assert seqs == list(range(heads[channel] + 1, heads[channel] + 1 + len(seqs)))


def test_other_service_reads_valid_signals_with_confluent_kafka(system):
    consumer = confluent_consumer(
        system.bootstrap, DEFAULT_TOPICS.signals.name, DEFAULT_TOPICS.signals.partitions
    )
    try:
        values = poll_until(consumer, lambda v: len(v) >= 1)
    finally:
        consumer.close()
    for value in values:
        document = json.loads(value)
        assert_valid("topic.rotation.signals.json", document)
        assert document["subject"].startswith(("pair:", "group:"))


def test_signals_carry_level_and_kind_headers_a_consumer_filters_on(system):
    """librdkafka reads the ``level`` and ``kind`` headers the worker (aiokafka) sets,
    and selecting by header alone picks the same signals as decoding every value."""
    consumer = confluent_consumer(
        system.bootstrap, DEFAULT_TOPICS.signals.name, DEFAULT_TOPICS.signals.partitions
    )
    messages = []
    deadline = time.monotonic() + WAIT
    try:
        while len(messages) < 20:
            message = consumer.poll(0.5)
            if message is None:
                if messages:
                    break  # the topic is read to its end for now
                assert time.monotonic() < deadline, "no signal on the topic"
                continue
            assert message.error() is None, message.error()
            messages.append(message)
    finally:
        consumer.close()
    for message in messages:
        headers = dict(message.headers() or [])
        document = json.loads(message.value())
        assert headers["level"] == document["level"].encode()
        assert headers["kind"] == document["kind"].encode()
        assert message.key() == document["subject"].encode()
    for level in ("headline", "supporting", "detail"):
        by_header = [
            m.value() for m in messages if dict(m.headers() or [])["level"] == level.encode()
        ]
        by_value = [m.value() for m in messages if json.loads(m.value())["level"] == level]
        assert by_header == by_value


async def first_metrics(url: str) -> None:
    async with connect(url) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["metrics"]}))
        deadline = time.monotonic() + WAIT
        while json.loads(await asyncio.wait_for(ws.recv(), WAIT)).get("type") != "metrics":
            assert time.monotonic() < deadline


def test_garbage_ticks_land_in_deadletter_and_the_worker_keeps_going(system):
    # Ticks flow first: only then is a tick of a 2015 session late for its partition.
    asyncio.run(first_metrics(system.gateway_url))
    partition = partition_for("IWM", DEFAULT_TOPICS.ticks.partitions)
    in_a_2015_session = 1_420_210_800_000_000  # 2015-01-02T15:00:00Z, 10:00 in New York
    christmas_2025 = 1_766_674_800_000_000  # 2025-12-25T15:00:00Z: no XNYS session
    garbage = {
        b"\x00\xffnot json at all": "malformed",
        b'{"ticks": []}': "invalid",
        b'{"symbol": "IWM", "ts": 1790000000000000, "price": -5}': "invalid",
        encode(Tick(symbol="IWM", ts=in_a_2015_session, price=300.0, source="test")): "late",
        encode(Tick(symbol="IWM", ts=christmas_2025, price=300.0, source="test")): "off_session",
        encode(Tick(symbol="QQQ", ts=in_a_2015_session, price=700.0, source="test")): (
            "wrong_partition"
            if partition_for("QQQ", DEFAULT_TOPICS.ticks.partitions) != partition
            else "late"
        ),
    }
    producer = Producer({"bootstrap.servers": system.bootstrap, "broker.address.family": "v4"})
    for value in garbage:
        producer.produce(DEFAULT_TOPICS.ticks.name, value=value, partition=partition)
    producer.flush(30)

    consumer = confluent_consumer(
        system.bootstrap, DEFAULT_TOPICS.deadletter.name, DEFAULT_TOPICS.deadletter.partitions
    )
    found: dict[bytes, dict] = {}

    def all_found(values: list[bytes]) -> bool:
        for value in values[len(found_values) :]:
            found_values.append(value)
            letter = json.loads(value)
            assert_valid("topic.rotation.deadletter.json", letter)
            original = base64.b64decode(letter["original"])
            if original in garbage:
                found[original] = letter
        return len(found) == len(garbage)

    found_values: list[bytes] = []
    try:
        poll_until(consumer, all_found)
    finally:
        consumer.close()
    for original, reason in garbage.items():
        letter = found[original]
        assert letter["reason"] == reason, letter
        assert letter["topic"] == DEFAULT_TOPICS.ticks.name and letter["partition"] == partition
        assert letter["detail"]
    assert system.children["worker"].failed() is None


async def test_metrics_keep_flowing_after_garbage(system):
    """The worker still turns good ticks into metrics after bad input (see the test above)."""
    producer = Producer({"bootstrap.servers": system.bootstrap, "broker.address.family": "v4"})
    producer.produce(DEFAULT_TOPICS.ticks.name, value=b"garbage again", partition=0)
    producer.flush(30)
    stamps: list[int] = []
    snapshot_left = latest = 0
    async with connect(system.gateway_url) as ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["metrics"]}))
        deadline = time.monotonic() + WAIT
        while len(stamps) < 20:
            assert time.monotonic() < deadline
            message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            if message.get("type") == "snapshot":
                snapshot_left = message["count"]
            elif message.get("type") == "metrics":
                if snapshot_left:
                    snapshot_left -= 1
                    latest = max(latest, message["data"]["ts"])
                else:
                    stamps.append(message["data"]["ts"])
    assert stamps[-1] > latest  # event time advances past the snapshot
    assert system.children["worker"].failed() is None


async def test_malformed_client_messages_get_errors_and_the_connection_stays_open(system):
    async with connect(system.gateway_url) as ws:
        assert json.loads(await ws.recv())["type"] == "welcome"
        for frame, code in [
            ("{nope", "bad_json"),
            ('{"op": "subscribe", "channels": ["gossip"], "id": "a"}', "unknown_channel"),
            ('{"op": "fly"}', "unknown_op"),
            ("x" * 5000, "too_large"),
        ]:
            await ws.send(frame)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert_valid("ws.server.error.json", answer)
            assert answer["code"] == code and answer["message"]
        await ws.send(json.dumps({"op": "subscribe", "channels": ["signals"], "id": "b"}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answer == {"type": "subscribed", "channels": ["signals"], "filters": {}, "id": "b"}


def test_gateway_health_endpoint_reports_kafka(system):
    import urllib.request

    port = system.gateway_url.split(":")[2].split("/")[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["kafka"] is True
