"""Every Kafka topic of the system, declared once: name, partitions, key and payload.

:data:`DEFAULT_TOPICS` holds the defaults. A deployment may rename a topic or change
its partition count in the configuration file's ``[topics]`` table; the composition
root (:mod:`rotation.config`) reads it and passes the resulting :class:`Topics` to
every part, so every process started with the same configuration uses the same names.

Ticks of one symbol always land in the same partition of ``quotes.ticks``
(:mod:`streams.partitioning`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

from streams import records


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract."""

    name: str
    partitions: int
    key: str
    payload: type | tuple[type, ...]
    description: str
    configs: tuple[tuple[str, str], ...] = ()
    """Topic configuration set when the topic is created (e.g. ``cleanup.policy``)."""


@dataclass(frozen=True)
class Topics:
    """The topics of one deployment, by role."""

    ticks: TopicSpec
    bars: TopicSpec
    metrics: TopicSpec
    signals: TopicSpec
    deadletter: TopicSpec

    def __iter__(self) -> Iterator[TopicSpec]:
        return (getattr(self, f.name) for f in fields(self))

    def roles(self) -> dict[str, TopicSpec]:
        """Role (the key of its ``[topics.<role>]`` table) -> topic."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_TOPICS = Topics(
    ticks=TopicSpec(
        "quotes.ticks",
        4,
        "symbol for a single tick; null for a frame (explicit partition)",
        (records.ColumnarTickFrame, records.TickFrame, records.Tick),
        "Quote ticks: a frame of ticks of one partition (as columns or as a list), or a bare tick.",
    ),
    bars=TopicSpec(
        "rotation.bars",
        1,
        "tick partition number, as decimal text",
        records.BarFrame,
        "Event-time bars closed by the bar stage, with the tick partition's watermark.",
    ),
    metrics=TopicSpec(
        "rotation.metrics",
        1,
        "subject",
        records.MetricsSnapshot,
        "Relative-strength metrics snapshot after every closed bar interval.",
    ),
    signals=TopicSpec(
        "rotation.signals",
        1,
        "subject (compacting keeps each subject's latest signal)",
        records.Signal,
        "Rotation signals with content-derived ids (deduplicate on id).",
    ),
    deadletter=TopicSpec(
        "rotation.deadletter",
        1,
        "reason",
        records.DeadLetter,
        "Input that could not be used: original bytes, source and a reason code.",
    ),
)
"""The topics as shipped."""

MAX_PARTITIONS = 10_000
# Stage 2 merges the bars of every tick partition in one place (one consumer).
SINGLE_PARTITION = {"bars": "the rotation stage merges every tick partition's bars in one place"}
