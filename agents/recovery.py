"""Rebuilding the two stages' state from the records they had consumed and published.

Neither stage keeps a state store: after a crash or a rebalance a stage rebuilds its
state from Kafka records, and because both stages are pure functions of their input
the rebuilt state equals the lost one. The classes here hold the rebuilding only; they
take the records (anything with ``offset``, ``value`` and ``timestamp``, as a plain or
an async iterable: aiokafka's ``ConsumerRecord``, or :class:`Recorded` in tests) and
the configuration, and read no topic themselves. The agents read the records
(``agents.topic_reader.read_partition``) and pass them in.

- :class:`BarRecovery` (stage one, ``bars``): the frames the stage published for the
  partition on ``rotation.bars`` before the first unprocessed tick message feed the
  symbols' indicators again (:meth:`TickPartition.replay_frame`); the last of them gives
  the watermark and the tick offset to replay from (:meth:`TickPartition.restore`), and
  the tick messages from there go through the same checks (:class:`TickGate`) as live.
- :class:`RotationRecovery` (stage two, ``rotation``): every bars message of the
  partition before the first unprocessed one goes through the merger and the engine
  again, with nothing sent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

import msgspec

from agents.analytics.rotation import RotationEngine
from agents.analytics.tick_checks import TickGate, decode_message
from agents.analytics.tick_partition import TickPartition
from agents.analytics.universe import Universe
from agents.analytics.watermarks import IntervalMerger
from streams.codec import decode_bar_frame
from streams.records import BarFrame, MetricsSnapshot, Signal

T = TypeVar("T")


class Record(Protocol):
    """A Kafka record as recovery reads it (aiokafka's ``ConsumerRecord`` is one)."""

    @property
    def offset(self) -> int: ...

    @property
    def value(self) -> bytes | None: ...

    @property
    def timestamp(self) -> int | None: ...


@dataclass(frozen=True)
class Recorded:
    """A record kept outside Kafka: its offset, bytes and timestamp (ms since the epoch)."""

    offset: int
    value: bytes | None
    timestamp: int | None = None


Records = Iterable[Record] | AsyncIterable[Record]


async def each(records: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    """The items of a plain or an async iterable, as an async iterator."""
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


def produced_at_us(timestamp_ms: float | None) -> int:
    """When a message was produced, in microseconds: its Kafka timestamp (milliseconds),
    or this worker's clock when it has none. Recovery reads the same timestamps, so the
    checks decide the same way when state is rebuilt."""
    if timestamp_ms is None or timestamp_ms <= 0:
        return time.time_ns() // 1000
    return round(timestamp_ms) * 1000


# Stage one.


@dataclass
class BarState:
    """Stage one's state of one tick partition: its bars and its checks, and how it was
    rebuilt (``frame_offset``: the tick offset of the last published frame used, None
    when there was none; ``tick_messages``: tick messages replayed)."""

    partition: TickPartition
    gate: TickGate
    frame_offset: int | None = None
    tick_messages: int = 0
    snapshot_offset: int | None = None

    @property
    def offset(self) -> int:
        return self.partition.offset

    def rebuilt_from(self) -> str:
        """Where the state came from, for the log line."""
        if self.snapshot_offset is not None:
            return (
                f"the snapshot of offset {self.snapshot_offset} and "
                f"{self.tick_messages} tick messages"
            )
        frame = (
            "no frame" if self.frame_offset is None else f"the frame of offset {self.frame_offset}"
        )
        return f"{frame} and {self.tick_messages} tick messages"


class BarRecovery:
    """Builds stage one's state of a tick partition, fresh or from recorded records."""

    def __init__(self, universe: Universe, partition_of: Callable[[str], int]) -> None:
        self.universe = universe
        self.partition_of = partition_of

    def fresh(self, partition: int) -> BarState:
        """The state of a partition before its first message."""
        universe = self.universe
        return BarState(
            TickPartition(
                partition,
                universe.bar_seconds,
                universe.allowed_lateness_seconds,
                universe.symbol,
                universe.calendar,
            ),
            TickGate(partition, self.partition_of, universe.symbols, universe.ticks),
        )

    async def rebuild(
        self,
        partition: int,
        first_offset: int,
        bar_records: Records,
        tick_records: Callable[[int], Records],
    ) -> BarState:
        """The state of ``partition`` just before tick message ``first_offset``.

        ``bar_records``: the records of ``rotation.bars`` (frames of other partitions and
        frames from ``first_offset`` on are skipped, undecodable ones too).
        ``tick_records(start)``: the tick messages of the partition with
        ``start <= offset < first_offset``, in offset order."""
        state = self.fresh(partition)
        last: BarFrame | None = None
        async for record in each(bar_records):
            try:
                frame = decode_bar_frame(record.value or b"")
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if frame.partition == partition and frame.source_offset < first_offset:
                state.partition.replay_frame(frame)
                last = frame
        replay_from = 0 if last is None else state.partition.restore(last)
        state.gate.restore(state.partition.bars.watermark)
        state.frame_offset = None if last is None else last.source_offset
        await self._replay(state, tick_records(replay_from))
        return state

    async def resume(self, state: BarState, tick_records: Records) -> BarState:
        """A snapshot's state (after tick message ``state.offset``) brought up to date with
        ``tick_records``, the partition's tick messages after it up to the first
        unprocessed one; what they close was published before, so nothing is kept."""
        state.snapshot_offset, state.frame_offset, state.tick_messages = state.offset, None, 0
        await self._replay(state, tick_records)
        return state

    @staticmethod
    async def _replay(state: BarState, tick_records: Records) -> None:
        async for record in each(tick_records):
            ticks, _ = state.gate.check(
                decode_message(record.value), produced_at_us(record.timestamp)
            )
            state.partition.apply(ticks, record.offset)
            state.tick_messages += 1


# Stage two.


class RotationStage:
    """The merger and the engine, and the offset of the last bars message applied."""

    def __init__(self, universe: Universe, partition_of: Callable[[str], int]) -> None:
        self.merger = IntervalMerger({partition_of(s) for s in universe.symbols})
        self.engine = RotationEngine(universe)
        self.offset = -1

    def apply(
        self, frame: BarFrame, offset: int
    ) -> Iterator[tuple[list[MetricsSnapshot], list[Signal]]]:
        """Apply the frame of bars message ``offset``: per interval it completed, the
        snapshots and the signals."""
        self.offset = offset
        for end, bars in self.merger.add(frame):
            yield self.engine.on_interval(end, bars)

    def skip(self, offset: int) -> None:
        """Bars message ``offset`` held no usable frame."""
        self.offset = offset


class RotationRecovery:
    """Builds stage two's state, fresh or from the recorded messages of ``rotation.bars``."""

    def __init__(self, universe: Universe, partition_of: Callable[[str], int]) -> None:
        self.universe = universe
        self.partition_of = partition_of

    def fresh(self) -> RotationStage:
        return RotationStage(self.universe, self.partition_of)

    async def rebuild(self, records: Records) -> tuple[RotationStage, int]:
        """The state after ``records`` (the partition's bars messages from its start up to
        the first unprocessed one, in offset order), and how many there were; nothing
        they produce is kept."""
        return await self.resume(self.fresh(), records)

    async def resume(self, stage: RotationStage, records: Records) -> tuple[RotationStage, int]:
        """``stage`` (fresh, or a snapshot's) brought up to date with ``records``, the
        partition's bars messages after ``stage.offset`` up to the first unprocessed
        one, and how many there were; nothing they produce is kept."""
        count = 0
        async for record in each(records):
            count += 1
            try:
                frame = decode_bar_frame(record.value or b"")
            except (msgspec.DecodeError, msgspec.ValidationError):
                stage.skip(record.offset)
                continue
            for _ in stage.apply(frame, record.offset):
                pass
        return stage, count
