"""The raw ceiling: how fast a bare aiokafka consumer reads single-tick messages.

One tick per message (``key=symbol``, Kafka's default partitioner), produced once to
a fresh topic, then read from the start by a new consumer per repetition
(``group_id=None``, ``getmany`` with a large ``max_records``). The clock runs from
the consumer's first fetch until it holds every message; nothing is decoded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks import stopping
from streams.topics import DEFAULT_TOPICS

RAW_TOPIC = "bench.raw.ticks"
FETCH_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 16 * 1024 * 1024
MAX_RECORDS = 100_000


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, replication_factor=1)])
    finally:
        await admin.close()


async def produce_single_ticks(
    bootstrap: str, messages: list[tuple[bytes, bytes]], topic: str = RAW_TOPIC
) -> float:
    """Create ``topic`` and send every (key, value); return the seconds it took."""
    await create_topic(bootstrap, topic, DEFAULT_TOPICS.ticks.partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="bench-raw-producer",
        linger_ms=20,
        max_batch_size=512 * 1024,
        acks=1,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for key, value in messages:
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= 20_000:
                for future in pending:
                    await future
                pending.clear()
        for future in pending:
            await future
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def consume_all(
    bootstrap: str,
    expected: int,
    topic: str = RAW_TOPIC,
    decode: Callable[[bytes], object] | None = None,
) -> float:
    """Read ``expected`` messages of ``topic`` from the start (passing each value to
    ``decode``, if given); return the seconds it took."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        client_id="bench-raw-consumer",
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        seen = 0
        started = time.perf_counter()
        deadline = started + max(60.0, expected / 5_000)
        while seen < expected:
            stopping.check()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"read {seen} of {expected} messages of {topic}")
            batches = await consumer.getmany(timeout_ms=1000, max_records=MAX_RECORDS)
            for records in batches.values():
                seen += len(records)
                if decode is not None:
                    for record in records:
                        decode(record.value)
        return time.perf_counter() - started
    finally:
        await consumer.stop()
