"""Stage-one state of one tick partition: its symbols' bars, and where it stands.

``apply`` takes one message's ticks. After a restart, ``restore`` takes the last
frame this stage published for the partition; replaying the tick messages from that
frame's ``replay_from`` offset with ``apply`` then rebuilds the bars that were still
open (ticks of bars the frame had already closed are dropped as late, exactly as
before). Because the state is a pure function of the input, the rebuilt state equals
the lost one.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from agents.analytics.bars import MICROS, BarUpdate, ClosedBars, PartitionBars
from agents.analytics.symbols import SymbolParams, SymbolState
from agents.analytics.tick_columns import TickColumns
from streams.records import Bar, BarFrame, Tick

MAX_BARS_PER_FRAME = 200


class TickPartition:
    def __init__(
        self,
        partition: int,
        bar_seconds: int,
        allowed_lateness_seconds: float = 0,
        symbol_params: SymbolParams | None = None,
    ):
        self.partition = partition
        self.bars = PartitionBars(bar_seconds * MICROS, int(allowed_lateness_seconds * MICROS))
        self.symbol_params = symbol_params or SymbolParams()
        self.symbols: dict[str, SymbolState] = {}
        self.offset = -1

    def apply(
        self, ticks: TickColumns | Sequence[Tick], offset: int
    ) -> tuple[list[BarFrame], BarUpdate]:
        """Apply the ticks of message ``offset``: the frames to publish (often none) and
        the update (its ``late`` and ``duplicates`` ticks were not used)."""
        previous = self.bars.watermark
        update = self.bars.apply(ticks, offset)
        update.closed = self._with_stats(update.intervals)
        self.offset = offset
        return self._frames(update, previous), update

    def flush(self) -> BarFrame:
        """End of input: close every open bar; the frame holding them."""
        update = self.bars.flush()
        update.closed = self._with_stats(update.intervals)
        return BarFrame(
            partition=self.partition,
            watermark=update.watermark,
            bars=update.closed,
            source_offset=self.offset,
            replay_from=self.replay_from,
        )

    @property
    def replay_from(self) -> int:
        """First tick message holding a tick of a bar still open (else the next one)."""
        first = self.bars.first_open_offset()
        return self.offset + 1 if first is None else first

    def _with_stats(self, intervals: list[ClosedBars]) -> list[Bar]:
        return [self._bar_with_stats(bar) for interval in intervals for bar in interval.bars()]

    def _bar_with_stats(self, bar: Bar) -> Bar:
        state = self.symbols.get(bar.symbol)
        if state is None:
            state = self.symbols[bar.symbol] = SymbolState(self.symbol_params)
        stats = state.on_bar(bar.open, bar.high, bar.low, bar.close, bar.volume)
        return msgspec.structs.replace(bar, stats=stats)

    def replay_frame(self, frame: BarFrame) -> None:
        """Take one earlier frame of this partition, in order: its bars feed the symbols'
        indicators exactly as when they were first closed."""
        for bar in frame.bars:
            self._bar_with_stats(bar)

    def restore(self, frame: BarFrame) -> int:
        """Continue from the last frame this stage published (after ``replay_frame`` of
        every frame up to it); return the tick offset to replay from."""
        self.bars.watermark = max(self.bars.watermark, frame.watermark)
        self.offset = frame.replay_from - 1
        return frame.replay_from

    def _frames(self, update: BarUpdate, previous_watermark: int) -> list[BarFrame]:
        """The closed bars in frames of at most ``MAX_BARS_PER_FRAME`` (a thousand
        symbols' bars would exceed Kafka's 1 MB message limit); only the last frame
        carries the new watermark, so the next stage sees the interval whole or not."""
        if not (update.closed or update.advanced):
            return []
        closed, replay_from = update.closed, self.replay_from
        chunks = [
            closed[i : i + MAX_BARS_PER_FRAME] for i in range(0, len(closed), MAX_BARS_PER_FRAME)
        ]
        chunks = chunks or [[]]
        return [
            BarFrame(
                partition=self.partition,
                watermark=update.watermark if last else previous_watermark,
                bars=chunk,
                source_offset=self.offset,
                replay_from=replay_from,
            )
            for last, chunk in ((i == len(chunks) - 1, c) for i, c in enumerate(chunks))
        ]
