"""Agent ``bars``: ticks of one partition -> event-time bars on ``rotation.bars``.

Decodes each message (a frame of ticks or one tick), applies it to the partition's
:class:`PartitionBars`, and sends the bars it closed with the partition's watermark.
Undecodable messages, ticks in the wrong partition and late ticks go to
``rotation.deadletter`` with a reason; nothing stops the agent.
"""

from __future__ import annotations

import logging

import faust

from agents.analytics.bars import PartitionBars
from agents.deadletters import dead_letter
from streams.codec import RejectedMessage, decode_ticks, encode
from streams.config import Universe
from streams.records import BarFrame, Tick
from streams.topics import BARS, DEADLETTER, TICKS, partition_for

log = logging.getLogger("rotation.bars")


def register(app: faust.App, universe: Universe, topics: dict[str, faust.TopicT]) -> None:
    partitions: dict[int, PartitionBars] = {}
    out, deadletters = topics[BARS.name], topics[DEADLETTER.name]

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
            try:
                ticks = decode_ticks(data)
            except RejectedMessage as exc:
                await reject(exc.reason, exc.detail, partition, offset, data)
                continue
            misplaced = [t for t in ticks if partition_for(t.symbol) != partition]
            if misplaced:
                ticks = [t for t in ticks if partition_for(t.symbol) == partition]
                for tick in misplaced:
                    detail = f"{tick.symbol} belongs to partition {partition_for(tick.symbol)}"
                    await reject("wrong_partition", detail, partition, offset, encode(tick))
            state = partitions.get(partition)
            if state is None:
                state = partitions[partition] = PartitionBars.every(universe.bar_seconds)
            update = state.apply(ticks)
            for tick in update.late:
                await reject("late", _late_detail(tick, state), partition, offset, encode(tick))
            if update.closed or update.advanced:
                frame = BarFrame(
                    partition=partition, watermark=update.watermark, bars=update.closed
                )
                await out.send(key=str(partition).encode(), value=encode(frame))


def _late_detail(tick: Tick, state: PartitionBars) -> str:
    return f"{tick.symbol} tick at {tick.ts} is before the partition watermark {state.watermark}"
