"""Agent ``bars``: ticks of one partition -> event-time bars on ``rotation.bars``.

Decodes each message (a frame of ticks or one tick) and checks it with the pure
:mod:`agents.analytics.tick_checks`, applies the ticks that pass to the partition's
:class:`TickPartition`, and sends the bars it closed with the partition's watermark
and the message offset. Every input it cannot use (not JSON, invalid, unknown symbol,
wrong partition, too far in the future or past, late, duplicate, off-session) goes to the
dead-letter topic with its original bytes, its source and a reason; the other ticks
of the same frame go on, and nothing stops the agent.

State survives a crash or a rebalance: the agent writes snapshots of each partition's
state (:mod:`agents.snapshots`), and when a partition's messages do not continue where
this process left off (first message after start or after an assignment), it reads the
newest usable snapshot and the partition's tick messages after it, passed through the
same checks (:meth:`agents.recovery.BarRecovery.resume`). Without one, it reads
``rotation.bars`` and :class:`agents.recovery.BarRecovery` rebuilds the state from the
last frame this stage published for the partition and the tick messages from that
frame's ``replay_from`` offset on.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import faust

from agents.analytics.bars import BarUpdate
from agents.analytics.tick_checks import DecodedMessage, Rejection, decode_message, when
from agents.analytics.tick_partition import TickPartition
from agents.analytics.universe import Universe
from agents.deadletters import DeadLetterCounts, dead_letter
from agents.recovery import BarRecovery, BarState, produced_at_us
from agents.snapshot_store import SnapshotStore
from agents.snapshots import StageSnapshots
from agents.topic_reader import read_partition, retrying
from streams.codec import encode
from streams.kafka import Settings
from streams.partitioning import partitioner

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


def register(
    app: faust.App,
    universe: Universe,
    topics: dict[str, faust.TopicT],
    settings: Settings,
    store: SnapshotStore,
) -> StageSnapshots[BarState]:
    """Register the agent; returns its snapshots (closed by the app at shutdown)."""
    states: dict[int, BarState] = {}
    TICKS, BARS = universe.topics.ticks, universe.topics.bars
    out, deadletters = topics[BARS.name], topics[universe.topics.deadletter.name]
    recovery = BarRecovery(universe, partitioner(TICKS.partitions))
    snapshots = StageSnapshots(
        "bars",
        BarState,
        store,
        universe.snapshots,
        universe,
        {
            "universe": universe,
            "calendar": universe.calendar,
            "partition_of": recovery.partition_of,
        },
    )
    client = settings.kafka_kwargs()
    counts = DeadLetterCounts(log)

    async def recover(partition: int, first_offset: int) -> BarState:
        snapshots.started(partition)
        if first_offset == 0:
            return recovery.fresh(partition)  # the partition's first message: nothing to rebuild
        return await retrying(
            lambda: rebuild(partition, first_offset),
            f"rebuilding the state of {TICKS.name}[{partition}]",
            log,
        )

    async def rebuild(partition: int, first_offset: int) -> BarState:
        started = time.monotonic()
        found = await snapshots.restore(partition, first_offset)
        origin = ""
        if found is not None:
            state = await recovery.resume(
                found[0],
                read_partition(client, TICKS.name, partition, found[1].offset + 1, first_offset),
            )
            origin = f" ({found[1].origin})"
        else:
            state = await recovery.rebuild(
                partition,
                first_offset,
                read_partition(client, BARS.name, 0),
                lambda start: read_partition(client, TICKS.name, partition, start, first_offset),
            )
        log.info(
            "partition %d: state rebuilt from %s%s in %.2f s",
            partition,
            state.rebuilt_from(),
            origin,
            time.monotonic() - started,
        )
        return state

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

    def late_and_duplicates(
        message: DecodedMessage, state: TickPartition, update: BarUpdate
    ) -> list[Rejection]:
        rejections = []
        late, duplicates = update.late, update.duplicates
        for i in range(len(late)):
            symbol, ts = late.symbols[int(late.symbol[i])], int(late.ts[i])
            detail = (
                f"{symbol} tick at {when(ts)} is before the partition watermark "
                f"{when(state.bars.watermark)}, its bar is closed (allowed lateness "
                f"{universe.allowed_lateness_seconds:g} s)"
            )
            rejections.append(message.rejection(int(late.row[i]), "late", detail))
        for i in range(len(duplicates)):
            symbol = duplicates.symbols[int(duplicates.symbol[i])]
            detail = f"{symbol} tick at {when(int(duplicates.ts[i]))} is already in its bar"
            rejections.append(message.rejection(int(duplicates.row[i]), "duplicate", detail))
        off = update.off_session
        for i in range(len(off)):
            symbol, ts = off.symbols[int(off.symbol[i])], int(off.ts[i])
            detail = (
                f"{symbol} tick at {when(ts)} is outside every {universe.calendar.name} "
                f"session (a weekend, a holiday or outside trading hours; the sessions "
                f"cover {universe.calendar.span()}): in no bar"
            )
            rejections.append(message.rejection(int(off.row[i]), "off_session", detail))
        return rejections

    @app.agent(topics[TICKS.name], name="bars")
    async def bars(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            partition, offset = message.partition, message.offset
            if partition not in states or states[partition].offset != offset - 1:
                states[partition] = await recover(partition, offset)
            state, gate = states[partition].partition, states[partition].gate
            timestamp = message.timestamp
            decoded = decode_message(event.value, producer_of(message.headers))
            ticks, refused = gate.check(
                decoded, produced_at_us(None if timestamp is None else timestamp * 1000)
            )
            frames, update = state.apply(ticks, offset)
            rejections = decoded.rejected + refused
            if len(update.late) or len(update.duplicates) or len(update.off_session):
                rejections += late_and_duplicates(decoded, state, update)
            if rejections:
                await reject(rejections, partition, offset)
            for frame in frames:
                await out.send(key=str(partition).encode(), value=encode(frame))
            snapshots.after(partition, offset, states[partition], len(frames))

    return snapshots
