"""The whole analytics path in one process, no broker: ticks -> bars -> metrics, signals.

It wires the same pieces the two agents use (:class:`PartitionBars` per tick
partition, :class:`IntervalMerger`, :class:`RotationEngine`), so a replay here gives
what the streaming system gives for the same ticks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agents.analytics.bars import BarUpdate, PartitionBars
from agents.analytics.rotation import RotationEngine
from agents.analytics.watermarks import IntervalMerger
from streams.config import Universe
from streams.records import BarFrame, MetricsSnapshot, Signal, Tick
from streams.topics import partition_for


@dataclass
class Pipeline:
    universe: Universe
    partitions: int = 4
    snapshots: list[MetricsSnapshot] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    late: list[Tick] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bars = {
            p: PartitionBars.every(
                self.universe.bar_seconds, self.universe.allowed_lateness_seconds
            )
            for p in range(self.partitions)
        }
        expected = {partition_for(s, self.partitions) for s in self.universe.symbols}
        self.merger = IntervalMerger(expected)
        self.engine = RotationEngine(self.universe)

    def apply(self, partition: int, ticks: list[Tick]) -> None:
        """One message's worth of ticks of one partition."""
        update = self.bars[partition].apply(ticks)
        self.late.extend(update.late)
        self._merge(partition, update)

    def finish(self) -> None:
        """End of input: close the last open bars of every partition and emit them."""
        updates = {partition: bars.flush() for partition, bars in self.bars.items()}
        # A partition without ticks must not hold back the others' last interval.
        end = max(update.watermark for update in updates.values())
        for partition, update in updates.items():
            self._merge(partition, update, watermark=end)

    def _merge(self, partition: int, update: BarUpdate, watermark: int | None = None) -> None:
        frame = BarFrame(
            partition=partition, watermark=watermark or update.watermark, bars=update.closed
        )
        for end, bars in self.merger.add(frame):
            snapshot, fired = self.engine.on_interval(end, bars)
            self.snapshots.append(snapshot)
            self.signals.extend(fired)

    def apply_batch(self, ticks: Iterable[Tick]) -> None:
        """Split ``ticks`` by partition (time order kept) and apply each part."""
        parts: dict[int, list[Tick]] = {}
        for tick in ticks:
            parts.setdefault(partition_for(tick.symbol, self.partitions), []).append(tick)
        for partition in sorted(parts):
            self.apply(partition, parts[partition])
