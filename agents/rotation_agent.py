"""Agent ``rotation``: bars of all tick partitions -> metrics and signals.

Merges the bar frames into complete intervals (:class:`IntervalMerger`), runs each
through the :class:`RotationEngine`, and sends every snapshot to ``rotation.metrics``
and every signal to ``rotation.signals``, both keyed by subject (a consumer can
compact by key); signals carry content-derived ids to deduplicate on, and the Kafka
headers ``level`` (headline, supporting, detail) and ``kind`` (UTF-8), so a consumer
can filter without decoding the value.

The agent writes snapshots of its state (:mod:`agents.snapshots`). After a restart or a
rebalance it reads the newest usable snapshot and the ``rotation.bars`` messages after
it up to the first message this process receives (without a snapshot: from the topic's
start), and :class:`agents.recovery.RotationRecovery` brings the state up to date from
those messages without sending anything: the engine is a pure function of its input,
so the rebuilt state equals the lost one, and any output sent twice carries the same
content and ids.
"""

from __future__ import annotations

import logging
import time

import faust
import msgspec

from agents.analytics.universe import Universe
from agents.deadletters import dead_letter
from agents.recovery import RotationRecovery, RotationStage
from agents.snapshot_store import SnapshotStore
from agents.snapshots import StageSnapshots
from agents.topic_reader import read_partition, retrying
from streams.codec import decode_bar_frame, encode
from streams.kafka import Settings
from streams.partitioning import partitioner
from streams.records import Signal

log = logging.getLogger("rotation.signals")


def signal_headers(signal: Signal) -> list[tuple[str, bytes]]:
    """The Kafka headers of a signal: its ``level`` and ``kind``, as UTF-8 bytes."""
    return [("level", signal.level.encode()), ("kind", signal.kind.encode())]


def register(
    app: faust.App,
    universe: Universe,
    topics: dict[str, faust.TopicT],
    settings: Settings,
    store: SnapshotStore,
) -> StageSnapshots[RotationStage]:
    """Register the agent; returns its snapshots (closed by the app at shutdown)."""
    BARS = universe.topics.bars
    metrics, signals = topics[universe.topics.metrics.name], topics[universe.topics.signals.name]
    deadletters = topics[universe.topics.deadletter.name]
    client = settings.kafka_kwargs()
    recovery = RotationRecovery(universe, partitioner(universe.topics.ticks.partitions))
    snapshots = StageSnapshots(
        "rotation",
        RotationStage,
        store,
        universe.snapshots,
        universe,
        {"universe": universe, "calendar": universe.calendar},
    )
    stages: dict[int, RotationStage] = {}

    async def recover(partition: int, first_offset: int) -> RotationStage:
        snapshots.started(partition)
        if first_offset == 0:
            return recovery.fresh()
        return await retrying(
            lambda: rebuild(partition, first_offset),
            f"rebuilding the state of {BARS.name}[{partition}]",
            log,
        )

    async def rebuild(partition: int, first_offset: int) -> RotationStage:
        started = time.monotonic()
        found = await snapshots.restore(partition, first_offset)
        if found is not None:
            stage, count = await recovery.resume(
                found[0],
                read_partition(client, BARS.name, partition, found[1].offset + 1, first_offset),
            )
            origin = (
                f"the snapshot of offset {found[1].offset} and {count} bar messages "
                f"({found[1].origin})"
            )
        else:
            stage, count = await recovery.rebuild(
                read_partition(client, BARS.name, partition, 0, first_offset)
            )
            origin = f"{count} bar messages"
        log.info("rotation state rebuilt from %s in %.2f s", origin, time.monotonic() - started)
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
                stage.skip(message.offset)
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
            intervals = 0
            for outputs, fired in stage.apply(frame, message.offset):
                intervals += 1
                for output in outputs:
                    await metrics.send(key=output.subject.encode(), value=encode(output))
                for signal in fired:
                    log.info("signal %s", signal.summary)
                    await signals.send(
                        key=signal.subject.encode(),
                        value=encode(signal),
                        headers=signal_headers(signal),
                    )
            snapshots.after(
                message.partition, message.offset, stage, intervals, stage.merger.pending
            )

    return snapshots
