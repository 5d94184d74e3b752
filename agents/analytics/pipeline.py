"""The whole analytics path in one process, no broker: ticks -> bars -> metrics, signals.

It wires the same pieces the two agents use (:class:`TickPartition` per tick
partition, :class:`IntervalMerger`, :class:`RotationEngine`), so a replay here gives
what the streaming system gives for the same ticks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agents.analytics.rotation import RotationEngine
from agents.analytics.tick_partition import TickPartition
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
    duplicates: list[Tick] = field(default_factory=list)

    def __post_init__(self) -> None:
        u = self.universe
        self.stages = {
            p: TickPartition(p, u.bar_seconds, u.allowed_lateness_seconds, u.symbol)
            for p in range(self.partitions)
        }
        expected = {partition_for(s, self.partitions) for s in u.symbols}
        self.merger = IntervalMerger(expected)
        self.engine = RotationEngine(u)

    def apply(self, partition: int, ticks: list[Tick]) -> None:
        """One message's worth of ticks of one partition."""
        stage = self.stages[partition]
        frames, update = stage.apply(ticks, stage.offset + 1)
        self.late.extend(update.late)
        self.duplicates.extend(update.duplicates)
        for frame in frames:
            self._merge(frame)

    def finish(self) -> None:
        """End of input: close the last open bars of every partition and emit them."""
        frames = [stage.flush() for stage in self.stages.values()]
        # A partition without ticks must not hold back the others' last interval.
        end = max(frame.watermark for frame in frames)
        for frame in frames:
            self._merge(BarFrame(frame.partition, end, frame.bars, frame.source_offset))

    def _merge(self, frame: BarFrame) -> None:
        for end, bars in self.merger.add(frame):
            snapshots, fired = self.engine.on_interval(end, bars)
            self.snapshots.extend(snapshots)
            self.signals.extend(fired)

    def apply_batch(self, ticks: Iterable[Tick]) -> None:
        """Split ``ticks`` by partition (time order kept) and apply each part."""
        parts: dict[int, list[Tick]] = {}
        for tick in ticks:
            parts.setdefault(partition_for(tick.symbol, self.partitions), []).append(tick)
        for partition in sorted(parts):
            self.apply(partition, parts[partition])
