"""The whole analytics path in one process, no broker: ticks -> bars -> metrics, signals.

It wires the same pieces the two agents use (:class:`TickPartition` per tick
partition, :class:`IntervalMerger`, :class:`RotationEngine`), so a replay here gives
what the streaming system gives for the same ticks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from agents.analytics.local_bars import LocalBars
from agents.analytics.rotation import RotationEngine
from agents.analytics.tick_columns import TickColumns
from agents.analytics.tick_partition import TickPartition
from agents.analytics.universe import Universe
from agents.analytics.watermarks import IntervalMerger
from streams.records import BarFrame, MetricsSnapshot, Signal, Tick


@dataclass
class Pipeline:
    universe: Universe
    partition_of: Callable[[str], int]
    """Symbol -> partition of the ticks topic (``streams.partitioning.partitioner``)."""
    snapshots: list[MetricsSnapshot] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    late: list[Tick] = field(default_factory=list)
    duplicates: list[Tick] = field(default_factory=list)
    off_session: list[Tick] = field(default_factory=list)

    def __post_init__(self) -> None:
        u = self.universe
        expected = {self.partition_of(s) for s in u.symbols}
        self.stages = {p: self._stage(p) for p in sorted(expected)}
        self.merger = IntervalMerger(expected)
        self.engine = RotationEngine(u)
        self._partitions: dict[str, int] = {}

    def _stage(self, partition: int) -> TickPartition:
        u = self.universe
        return TickPartition(
            partition, u.bar_seconds, u.allowed_lateness_seconds, u.symbol, u.calendar
        )

    def apply(self, partition: int, ticks: TickColumns | Sequence[Tick]) -> None:
        """One message's worth of ticks of one partition."""
        if partition not in self.stages:
            self.stages[partition] = self._stage(partition)
        stage = self.stages[partition]
        frames, update = stage.apply_local(ticks, stage.offset + 1)
        if len(update.late):
            self.late.extend(update.late.ticks())
        if len(update.duplicates):
            self.duplicates.extend(update.duplicates.ticks())
        if len(update.off_session):
            self.off_session.extend(update.off_session.ticks())
        for frame in frames:
            self._merge(frame)

    def finish(self) -> None:
        """End of input: close the last open bars of every partition and emit them."""
        flushed = [stage.flush_local() for stage in self.stages.values()]
        # A partition without ticks must not hold back the others' last interval.
        end = max(frames[-1].watermark for frames in flushed)
        for frames in flushed:
            for frame in frames[:-1]:
                self._merge(frame)
            self._merge(dataclasses.replace(frames[-1], watermark=end))

    def _merge(self, frame: BarFrame | LocalBars) -> None:
        for end, bars in self.merger.add(frame):
            snapshots, fired = self.engine.on_interval(end, bars)
            self.snapshots.extend(snapshots)
            self.signals.extend(fired)

    def apply_batch(self, ticks: Iterable[Tick]) -> None:
        """Split ``ticks`` by partition (time order kept) and apply each part."""
        parts: dict[int, list[Tick]] = {}
        for tick in ticks:
            parts.setdefault(self.partition_of(tick.symbol), []).append(tick)
        for partition in sorted(parts):
            self.apply(partition, parts[partition])

    def apply_columns(self, columns: TickColumns) -> None:
        """:meth:`apply_batch` for ticks as columns: split by partition with array
        operations (one partition lookup per distinct symbol, remembered), time order kept."""
        if not len(columns):
            return
        known = self._partitions
        for symbol in columns.symbols:
            if symbol not in known:
                known[symbol] = self.partition_of(symbol)
        home = np.array([known[s] for s in columns.symbols], dtype=np.int64)
        of_tick = home[columns.symbol]
        present = np.bincount(columns.symbol, minlength=len(columns.symbols)) > 0
        for partition in np.unique(home[present]).tolist():
            mine = np.flatnonzero(home == partition)
            local = np.full(len(columns.symbols), -1, dtype=np.int64)
            local[mine] = np.arange(mine.size)
            part = columns.take(of_tick == partition)
            self.apply(
                partition,
                dataclasses.replace(
                    part, symbols=[columns.symbols[i] for i in mine], symbol=local[part.symbol]
                ),
            )
