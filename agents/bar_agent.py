"""Agent ``bars``: ticks of one partition -> event-time bars on ``rotation.bars``.

Decodes each message (a frame of ticks or one tick) and checks it with the pure
:mod:`agents.analytics.tick_checks`, applies the ticks that pass to the partition's
:class:`TickPartition`, and sends the bars it closed with the partition's watermark
and the message offset. Every input it cannot use (not JSON, invalid, unknown symbol,
wrong partition, too far in the future or past, late, duplicate) goes to the
dead-letter topic with its original bytes, its source and a reason; the other ticks
of the same frame go on, and nothing stops the agent.

State survives a crash or a rebalance without a state store: when a partition's
messages do not continue where this process left off (first message after start or
after an assignment), the state is rebuilt from the last frame this stage published
for the partition on ``rotation.bars`` and the tick messages from that frame's
``replay_from`` offset on (see :mod:`agents.analytics.tick_partition`), passed
through the same checks.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import faust
import msgspec

from agents.analytics.tick_checks import (
    DecodedMessage,
    Rejection,
    TickGate,
    decode_message,
    when,
)
from agents.analytics.tick_partition import TickPartition
from agents.analytics.universe import Universe
from agents.deadletters import DeadLetterCounts, dead_letter
from agents.topic_reader import read_partition
from streams.codec import decode_bar_frame, encode
from streams.kafka import Settings
from streams.partitioning import partitioner
from streams.records import BarFrame

log = logging.getLogger("rotation.bars")

SOURCE_HEADER = "source"


def producer_of(headers: Any) -> str:
    """The ``source`` header of a Kafka message (its producer's name), or ``unknown``."""
    if not headers:
        return "unknown"
    items: Iterable[tuple[Any, Any]] = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        if name == SOURCE_HEADER and value:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            return text[:64]
    return "unknown"


def produced_at_us(timestamp_ms: float | None) -> int:
    """When a message was produced, in microseconds: its Kafka timestamp (milliseconds),
    or this worker's clock when it has none. Recovery reads the same timestamps, so the
    checks decide the same way when state is rebuilt."""
    if timestamp_ms is None or timestamp_ms <= 0:
        return time.time_ns() // 1000
    return round(timestamp_ms) * 1000


def register(
    app: faust.App, universe: Universe, topics: dict[str, faust.TopicT], settings: Settings
) -> None:
    states: dict[int, TickPartition] = {}
    gates: dict[int, TickGate] = {}
    TICKS, BARS = universe.topics.ticks, universe.topics.bars
    out, deadletters = topics[BARS.name], topics[universe.topics.deadletter.name]
    partition_of = partitioner(TICKS.partitions)
    client = settings.kafka_kwargs()
    counts = DeadLetterCounts(log)

    def fresh(partition: int) -> tuple[TickPartition, TickGate]:
        state = TickPartition(
            partition, universe.bar_seconds, universe.allowed_lateness_seconds, universe.symbol
        )
        gate = TickGate(partition, partition_of, universe.symbols, universe.ticks)
        return state, gate

    async def recover(partition: int, first_offset: int) -> tuple[TickPartition, TickGate]:
        state, gate = fresh(partition)
        if first_offset == 0:
            return state, gate  # the partition's first message: nothing to rebuild
        started = time.monotonic()
        last: BarFrame | None = None
        replayed = 0
        async for record in read_partition(client, BARS.name, 0):
            try:
                frame = decode_bar_frame(record.value or b"")
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if frame.partition == partition and frame.source_offset < first_offset:
                state.replay_frame(frame)
                last = frame
        replay_from = 0 if last is None else state.restore(last)
        gate.restore(state.bars.watermark)
        async for record in read_partition(
            client, TICKS.name, partition, replay_from, first_offset
        ):
            message = decode_message(record.value)
            ticks, _ = gate.check(message, produced_at_us(record.timestamp))
            state.apply(ticks, record.offset)
            replayed += 1
        log.info(
            "partition %d: state rebuilt from %s and %d tick messages in %.2f s",
            partition,
            "no frame" if last is None else f"the frame of offset {last.source_offset}",
            replayed,
            time.monotonic() - started,
        )
        return state, gate

    async def reject(rejections: list[Rejection], partition: int, offset: int) -> None:
        by_reason: dict[str, list[Rejection]] = defaultdict(list)
        for rejection in rejections:
            by_reason[rejection.reason].append(rejection)
            await deadletters.send(
                key=rejection.reason.encode(),
                value=dead_letter(
                    rejection.reason,
                    rejection.detail,
                    TICKS.name,
                    partition,
                    offset,
                    rejection.original,
                    rejection.source,
                ),
            )
        where = f"{TICKS.name}[{partition}]@{offset}"
        for reason, group in by_reason.items():
            counts.sent(reason, len(group), where, group[0].detail)

    def late_and_duplicates(message: DecodedMessage, state: TickPartition, update: Any) -> list:
        rejections = []
        for tick in update.late:
            detail = (
                f"{tick.symbol} tick at {when(tick.ts)} is before the partition watermark "
                f"{when(state.bars.watermark)}, its bar is closed (allowed lateness "
                f"{universe.allowed_lateness_seconds:g} s)"
            )
            rejections.append(message.rejection(tick, "late", detail))
        for tick in update.duplicates:
            detail = f"{tick.symbol} tick at {when(tick.ts)} is already in its bar"
            rejections.append(message.rejection(tick, "duplicate", detail))
        return rejections

    @app.agent(topics[TICKS.name], name="bars")
    async def bars(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            partition, offset = message.partition, message.offset
            if partition not in states or states[partition].offset != offset - 1:
                states[partition], gates[partition] = await recover(partition, offset)
            state, gate = states[partition], gates[partition]
            timestamp = message.timestamp
            decoded = decode_message(event.value, producer_of(message.headers))
            ticks, refused = gate.check(
                decoded, produced_at_us(None if timestamp is None else timestamp * 1000)
            )
            frames, update = state.apply(ticks, offset)
            rejections = decoded.rejected + refused
            if update.late or update.duplicates:
                rejections += late_and_duplicates(decoded, state, update)
            if rejections:
                await reject(rejections, partition, offset)
            for frame in frames:
                await out.send(key=str(partition).encode(), value=encode(frame))
