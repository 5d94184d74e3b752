"""Agent ``rotation``: bars of all tick partitions -> metrics and signals.

Merges the bar frames into complete intervals (:class:`IntervalMerger`), runs each
through the :class:`RotationEngine`, and sends the snapshot to ``rotation.metrics``
and every signal to ``rotation.signals`` (keyed by its content-derived id).
"""

from __future__ import annotations

import logging

import faust
import msgspec

from agents.analytics.rotation import RotationEngine
from agents.analytics.watermarks import IntervalMerger
from agents.deadletters import dead_letter
from streams.codec import decode_bar_frame, encode
from streams.config import Universe
from streams.topics import BARS, DEADLETTER, METRICS, SIGNALS, partition_for

log = logging.getLogger("rotation.signals")


def register(app: faust.App, universe: Universe, topics: dict[str, faust.TopicT]) -> None:
    merger = IntervalMerger({partition_for(s) for s in universe.symbols})
    engine = RotationEngine(universe)
    metrics, signals = topics[METRICS.name], topics[SIGNALS.name]
    deadletters = topics[DEADLETTER.name]

    @app.agent(topics[BARS.name], name="rotation")
    async def rotation(stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                frame = decode_bar_frame(event.value)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                message = event.message
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
            for end, bars in merger.add(frame):
                snapshot, fired = engine.on_interval(end, bars)
                await metrics.send(key=snapshot.subject.encode(), value=encode(snapshot))
                for signal in fired:
                    log.info("signal %s", signal.summary)
                    await signals.send(key=signal.id.encode(), value=encode(signal))
