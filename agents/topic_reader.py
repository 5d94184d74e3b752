"""Read a range of one topic partition directly, outside the Faust stream.

Used to rebuild an agent's state after a restart or a rebalance. Tansu answers
ListOffsets(latest) wrongly, so "to the end" means "until a poll comes back empty".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from streams.errors import RotationError

IDLE_MS = 300
GIVE_UP_POLLS = 100  # 30 s without a record while records before `stop` are still missing


class RecoveryError(RotationError):
    """The records needed to rebuild state could not be read."""


T = TypeVar("T")
RETRY_MAX_S = 5.0


async def retrying(work: Callable[[], Awaitable[T]], what: str, log: logging.Logger) -> T:
    """``work()``, again after 0.5, 1, 2, 5, 5, ... s while the broker cannot be read (a
    broker cut off for a while): the stage waits for it instead of failing, one log line
    per try. Cancelling (a worker stopping) ends it at once."""
    delay = 0.5
    while True:
        try:
            return await work()
        except (KafkaError, RecoveryError, OSError) as exc:
            log.warning(
                "%s failed (%s: %s); trying again in %.1f s", what, type(exc).__name__, exc, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)


async def read_partition(
    client: dict[str, Any], topic: str, partition: int, start: int = 0, stop: int | None = None
) -> AsyncIterator[ConsumerRecord]:
    """Records of ``topic[partition]`` with start <= offset < stop (``stop=None``: to the end).

    ``client``: the connection arguments (``streams.kafka.Settings.kafka_kwargs``)."""
    if stop is not None and stop <= start:
        return
    consumer = AIOKafkaConsumer(
        **client,
        group_id=None,
        enable_auto_commit=False,
        client_id="rotation-recovery",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        idle = 0
        while True:
            batch = await consumer.getmany(tp, timeout_ms=IDLE_MS, max_records=5000)
            records = batch.get(tp, [])
            if not records:
                idle += 1
                if stop is None and idle >= 2:
                    return
                if idle >= GIVE_UP_POLLS:
                    raise RecoveryError(
                        f"{topic}[{partition}]: offsets {start}..{stop - 1} did not all arrive "
                        f"within {GIVE_UP_POLLS * IDLE_MS / 1000:.0f} s"
                    )
                continue
            idle = 0
            for record in records:
                if stop is not None and record.offset >= stop:
                    return
                yield record
            if stop is not None and records[-1].offset >= stop - 1:
                return
    finally:
        await consumer.stop()
