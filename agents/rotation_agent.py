"""Agent ``rotation``: bars of all tick partitions -> metrics and signals.

Merges the bar frames into complete intervals (:class:`IntervalMerger`), runs each
through the :class:`RotationEngine`, and sends every snapshot to ``rotation.metrics``
and every signal to ``rotation.signals``, both keyed by subject (a consumer can
compact by key); signals carry content-derived ids to deduplicate on.

After a restart or a rebalance the state is rebuilt by replaying ``rotation.bars``
from its start up to the first message this process receives, without sending
anything: the engine is a pure function of its input, so the rebuilt state equals
the lost one, and any output sent twice carries the same content and ids.
"""

from __future__ import annotations

import logging
import time

import faust
import msgspec

from agents.analytics.rotation import RotationEngine
from agents.analytics.universe import Universe
from agents.analytics.watermarks import IntervalMerger
from agents.deadletters import dead_letter
from agents.topic_reader import read_partition
from streams.codec import decode_bar_frame, encode
from streams.kafka import Settings
from streams.partitioning import partition_for
from streams.records import BarFrame

log = logging.getLogger("rotation.signals")


class RotationStage:
    """The merger and the engine, and the offset of the last bars message applied."""

    def __init__(self, universe: Universe) -> None:
        self.merger = IntervalMerger(
            {partition_for(s, universe.topics.ticks.partitions) for s in universe.symbols}
        )
        self.engine = RotationEngine(universe)
        self.offset = -1

    def apply(self, frame: BarFrame, offset: int):
        self.offset = offset
        for end, bars in self.merger.add(frame):
            yield self.engine.on_interval(end, bars)


def register(
    app: faust.App, universe: Universe, topics: dict[str, faust.TopicT], settings: Settings
) -> None:
    BARS = universe.topics.bars
    metrics, signals = topics[universe.topics.metrics.name], topics[universe.topics.signals.name]
    deadletters = topics[universe.topics.deadletter.name]
    client = settings.kafka_kwargs()
    stages: dict[int, RotationStage] = {}

    async def recover(partition: int, first_offset: int) -> RotationStage:
        started = time.monotonic()
        stage = RotationStage(universe)
        async for record in read_partition(client, BARS.name, partition, 0, first_offset):
            try:
                frame = decode_bar_frame(record.value or b"")
            except (msgspec.DecodeError, msgspec.ValidationError):
                stage.offset = record.offset
                continue
            for _ in stage.apply(frame, record.offset):
                pass
        if first_offset:
            log.info(
                "rotation state rebuilt from %d bar messages in %.2f s",
                first_offset,
                time.monotonic() - started,
            )
        return stage

    @app.agent(topics[BARS.name], name="rotation")
    async def rotation(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            stage = stages.get(message.partition)
            if stage is None or stage.offset != message.offset - 1:
                stage = stages[message.partition] = await recover(message.partition, message.offset)
            try:
                frame = decode_bar_frame(event.value or b"")
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                stage.offset = message.offset
                await deadletters.send(
                    key=b"invalid",
                    value=dead_letter(
                        "invalid",
                        str(exc),
                        BARS.name,
                        message.partition,
                        message.offset,
                        event.value,
                    ),
                )
                continue
            for snapshots, fired in stage.apply(frame, message.offset):
                for snapshot in snapshots:
                    await metrics.send(key=snapshot.subject.encode(), value=encode(snapshot))
                for signal in fired:
                    log.info("signal %s", signal.summary)
                    await signals.send(key=signal.subject.encode(), value=encode(signal))
