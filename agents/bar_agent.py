"""Agent ``bars``: ticks of one partition -> event-time bars on ``rotation.bars``.

Decodes each message (a frame of ticks or one tick), applies it to the partition's
:class:`TickPartition`, and sends the bars it closed with the partition's watermark
and the message offset. Undecodable messages, ticks in the wrong partition and late
ticks go to ``rotation.deadletter`` with a reason; nothing stops the agent.

State survives a crash or a rebalance without a state store: when a partition's
messages do not continue where this process left off (first message after start or
after an assignment), the state is rebuilt from the last frame this stage published
for the partition on ``rotation.bars`` and the tick messages from that frame's
``replay_from`` offset on (see :mod:`agents.analytics.tick_partition`).
"""

from __future__ import annotations

import logging
import time

import faust
import msgspec

from agents.analytics.tick_partition import TickPartition
from agents.deadletters import dead_letter
from agents.topic_reader import read_partition
from streams.codec import RejectedMessage, decode_bar_frame, decode_ticks, encode
from streams.config import Universe
from streams.records import BarFrame, Tick
from streams.topics import BARS, DEADLETTER, TICKS, partition_for

log = logging.getLogger("rotation.bars")


def placed(ticks: list[Tick], partition: int) -> tuple[list[Tick], list[Tick]]:
    """Split ticks into those that belong to ``partition`` and those that do not."""
    if all(partition_for(t.symbol) == partition for t in ticks):
        return ticks, []
    good = [t for t in ticks if partition_for(t.symbol) == partition]
    return good, [t for t in ticks if partition_for(t.symbol) != partition]


def register(
    app: faust.App, universe: Universe, topics: dict[str, faust.TopicT], bootstrap: str
) -> None:
    states: dict[int, TickPartition] = {}
    out, deadletters = topics[BARS.name], topics[DEADLETTER.name]

    def fresh(partition: int) -> TickPartition:
        return TickPartition(
            partition, universe.bar_seconds, universe.allowed_lateness_seconds, universe.symbol
        )

    async def recover(partition: int, first_offset: int) -> TickPartition:
        state = fresh(partition)
        if first_offset == 0:
            return state  # the partition's first message: nothing to rebuild
        started = time.monotonic()
        last: BarFrame | None = None
        replayed = 0
        async for record in read_partition(bootstrap, BARS.name, 0):
            try:
                frame = decode_bar_frame(record.value)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if frame.partition == partition and frame.source_offset < first_offset:
                state.replay_frame(frame)
                last = frame
        replay_from = 0 if last is None else state.restore(last)
        async for record in read_partition(
            bootstrap, TICKS.name, partition, replay_from, first_offset
        ):
            try:
                ticks, _ = placed(decode_ticks(record.value), partition)
            except RejectedMessage:
                ticks = []
            state.apply(ticks, record.offset)
            replayed += 1
        log.info(
            "partition %d: state rebuilt from %s and %d tick messages in %.2f s",
            partition,
            "no frame" if last is None else f"the frame of offset {last.source_offset}",
            replayed,
            time.monotonic() - started,
        )
        return state

    async def reject(reason: str, detail: str, partition: int, offset: int, data: bytes) -> None:
        log.warning(
            "dead-letter %s at %s[%d]@%d: %s", reason, TICKS.name, partition, offset, detail
        )
        await deadletters.send(
            key=reason.encode(),
            value=dead_letter(reason, detail, TICKS.name, partition, offset, data),
        )

    @app.agent(topics[TICKS.name], name="bars")
    async def bars(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            partition, offset, data = message.partition, message.offset, event.value
            state = states.get(partition)
            if state is None or state.offset != offset - 1:
                state = states[partition] = await recover(partition, offset)
            try:
                ticks = decode_ticks(data)
            except RejectedMessage as exc:
                state.apply([], offset)
                await reject(exc.reason, exc.detail, partition, offset, data)
                continue
            ticks, misplaced = placed(ticks, partition)
            for tick in misplaced:
                detail = f"{tick.symbol} belongs to partition {partition_for(tick.symbol)}"
                await reject("wrong_partition", detail, partition, offset, encode(tick))
            frames, update = state.apply(ticks, offset)
            for tick in update.late:
                detail = (
                    f"{tick.symbol} tick at {tick.ts} is before the partition watermark "
                    f"{state.bars.watermark} (allowed lateness "
                    f"{universe.allowed_lateness_seconds} s)"
                )
                await reject("late", detail, partition, offset, encode(tick))
            for tick in update.duplicates:
                detail = f"{tick.symbol} tick at {tick.ts} is already in its bar"
                await reject("duplicate", detail, partition, offset, encode(tick))
            for frame in frames:
                await out.send(key=str(partition).encode(), value=encode(frame))
