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

from agents.analytics.bars import MICROS, BarUpdate, ClosedBars, PartitionBars
from agents.analytics.symbols import SymbolParams, SymbolState
from agents.analytics.tick_columns import TickColumns
from streams.records import BarFrame, StatsColumns, Tick

MAX_BARS_PER_FRAME = 2000
"""About 250 bytes a bar: a frame stays far below Kafka's 1 MB message limit."""


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
        self.offset = offset
        if not (update.intervals or update.advanced):
            return [], update
        pieces = [
            (interval, stats, lo, min(lo + MAX_BARS_PER_FRAME, len(interval)))
            for interval in update.intervals
            for stats in [self._stats(interval)]
            for lo in range(0, len(interval), MAX_BARS_PER_FRAME)
        ]
        # Only the last frame carries the new watermark: the next stage sees an
        # interval whole or not at all.
        frames = [self._frame([piece], previous) for piece in pieces[:-1]]
        frames.append(self._frame(pieces[-1:], update.watermark))
        return frames, update

    def flush(self) -> BarFrame:
        """End of input: close every open bar; the frame holding them."""
        update = self.bars.flush()
        pieces = [
            (interval, self._stats(interval), 0, len(interval)) for interval in update.intervals
        ]
        return self._frame(pieces, update.watermark)

    @property
    def replay_from(self) -> int:
        """First tick message holding a tick of a bar still open (else the next one)."""
        first = self.bars.first_open_offset()
        return self.offset + 1 if first is None else first

    def _stats(self, interval: ClosedBars) -> StatsColumns:
        """Advance the indicators of each symbol with a bar in ``interval``."""
        stats = []
        for symbol, o, h, lo, c, v in zip(
            interval.symbols,
            interval.open.tolist(),
            interval.high.tolist(),
            interval.low.tolist(),
            interval.close.tolist(),
            interval.volume.tolist(),
            strict=True,
        ):
            state = self.symbols.get(symbol)
            if state is None:
                state = self.symbols[symbol] = SymbolState(self.symbol_params)
            stats.append(state.on_bar(o, h, lo, c, v))
        return StatsColumns.of(stats)

    def _frame(
        self, pieces: list[tuple[ClosedBars, StatsColumns, int, int]], watermark: int
    ) -> BarFrame:
        def joined(values: list[list[object]]) -> list[object]:
            return [x for part in values for x in part]

        def column(name: str) -> list[object]:
            return joined([getattr(c, name)[lo:hi].tolist() for c, _, lo, hi in pieces])

        stats = None
        if pieces and any(hi > lo for _, _, lo, hi in pieces):
            stats = StatsColumns(
                *(
                    joined([getattr(s, name)[lo:hi] for _, s, lo, hi in pieces])
                    for name in StatsColumns.__struct_fields__
                )
            )
        return BarFrame(
            partition=self.partition,
            watermark=watermark,
            source_offset=self.offset,
            replay_from=self.replay_from,
            bar_us=self.bars.interval_us,
            symbol=joined([c.symbols[lo:hi] for c, _, lo, hi in pieces]),  # type: ignore[arg-type]
            end=joined([[c.end] * (hi - lo) for c, _, lo, hi in pieces]),  # type: ignore[arg-type]
            open=column("open"),  # type: ignore[arg-type]
            high=column("high"),  # type: ignore[arg-type]
            low=column("low"),  # type: ignore[arg-type]
            close=column("close"),  # type: ignore[arg-type]
            volume=column("volume"),  # type: ignore[arg-type]
            ticks=column("ticks"),  # type: ignore[arg-type]
            stats=stats,
        )

    def replay_frame(self, frame: BarFrame) -> None:
        """Take one earlier frame of this partition, in order: its bars feed the symbols'
        indicators exactly as when they were first closed."""
        for symbol, o, h, lo, c, v in zip(
            frame.symbol, frame.open, frame.high, frame.low, frame.close, frame.volume, strict=True
        ):
            state = self.symbols.get(symbol)
            if state is None:
                state = self.symbols[symbol] = SymbolState(self.symbol_params)
            state.on_bar(o, h, lo, c, v)

    def restore(self, frame: BarFrame) -> int:
        """Continue from the last frame this stage published (after ``replay_frame`` of
        every frame up to it); return the tick offset to replay from."""
        self.bars.watermark = max(self.bars.watermark, frame.watermark)
        self.offset = frame.replay_from - 1
        return frame.replay_from
