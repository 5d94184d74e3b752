"""Every Kafka topic of the system, declared once: name, partitions, key and payload.

Ticks of one symbol always land in the same partition of ``quotes.ticks``: the
partition is Kafka's default partitioner applied to the symbol (murmur2 of the
UTF-8 symbol, positive, modulo the partition count), so a producer that sends one
tick per message with ``key=symbol`` and a producer that sends frames of many ticks
to an explicit partition agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aiokafka.partitioner import murmur2

from streams import records


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract."""

    name: str
    partitions: int
    key: str
    payload: type | tuple[type, ...]
    description: str


TICKS = TopicSpec(
    "quotes.ticks",
    4,
    "symbol for a single tick; null for a frame (explicit partition)",
    (records.TickFrame, records.Tick),
    "Quote ticks: a frame of one or more ticks of one partition, or a bare tick.",
)
BARS = TopicSpec(
    "rotation.bars",
    1,
    "tick partition number, as decimal text",
    records.BarFrame,
    "Event-time bars closed by the bar stage, with the tick partition's watermark.",
)
METRICS = TopicSpec(
    "rotation.metrics",
    1,
    "subject",
    records.MetricsSnapshot,
    "Relative-strength metrics snapshot after every closed bar interval.",
)
SIGNALS = TopicSpec(
    "rotation.signals",
    1,
    "subject (compacting keeps each subject's latest signal)",
    records.Signal,
    "Rotation signals with content-derived ids (deduplicate on id).",
)
DEADLETTER = TopicSpec(
    "rotation.deadletter",
    1,
    "reason",
    records.DeadLetter,
    "Input that could not be used: original bytes, source and a reason code.",
)

ALL: tuple[TopicSpec, ...] = (TICKS, BARS, METRICS, SIGNALS, DEADLETTER)


@lru_cache(maxsize=1 << 16)
def partition_for(symbol: str, partitions: int = TICKS.partitions) -> int:
    """Partition of ``symbol`` on ``quotes.ticks``: Kafka's default key partitioner.

    Cached: murmur2 in Python costs microseconds, and it runs once per tick.
    """
    return (murmur2(symbol.encode()) & 0x7FFFFFFF) % partitions
