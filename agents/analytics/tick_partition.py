"""Stage-one state of one tick partition: its symbols' bars, and where it stands.

``apply`` takes one message's ticks. After a restart, ``restore`` takes the last
frame this stage published for the partition; replaying the tick messages from that
frame's ``replay_from`` offset with ``apply`` then rebuilds the bars that were still
open (ticks of bars the frame had already closed are dropped as late, exactly as
before). Because the state is a pure function of the input, the rebuilt state equals
the lost one.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from agents.analytics.bars import BarUpdate, ClosedBars, PartitionBars
from agents.analytics.local_bars import LocalBars, StatsArrays
from agents.analytics.symbol_table import IndicatorColumns, SymbolTable, optional_list
from agents.analytics.symbols import SymbolParams
from agents.analytics.tick_columns import TickColumns
from streams.records import BarFrame, StatsColumns, Tick
from streams.sessions import Sessions

MAX_BARS_PER_FRAME = 2000
"""About 250 bytes a bar: a frame stays far below Kafka's 1 MB message limit."""

_OHLCV = ("open", "high", "low", "close", "volume")


def wire_stats(columns: IndicatorColumns) -> StatsColumns:
    """The indicator columns as they go on the wire. Optional numbers stay NaN where
    they have no value: the JSON encoder writes NaN as ``null``."""
    return StatsColumns(
        close=columns.close.tolist(),
        prev_close=columns.prev_close.tolist(),
        change_pct=columns.change_pct.tolist(),
        return_pct=columns.return_pct.tolist(),
        sma=columns.sma.tolist(),
        ema=columns.ema.tolist(),
        above_sma=optional_list(columns.above_sma, columns.has_sma),
        high_n=columns.high_n.tolist(),
        low_n=columns.low_n.tolist(),
        new_high=columns.new_high.tolist(),
        new_low=columns.new_low.tolist(),
        direction=optional_list(columns.direction, columns.has_prev),
        up_volume=columns.up_volume.tolist(),
        down_volume=columns.down_volume.tolist(),
        bars=columns.bars.tolist(),
    )


class TickPartition:
    def __init__(
        self,
        partition: int,
        bar_seconds: int,
        allowed_lateness_seconds: float = 0,
        symbol_params: SymbolParams | None = None,
        sessions: Sessions | None = None,
    ):
        self.partition = partition
        self.bars = PartitionBars.every(bar_seconds, allowed_lateness_seconds, sessions)
        self.symbol_params = symbol_params or SymbolParams()
        self.table = SymbolTable(self.symbol_params)
        """The indicators of the partition's symbols, by slot (``self.bars.symbols``)."""
        self.offset = -1
        self._fed: np.ndarray | None = None

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

    def apply_local(
        self, ticks: TickColumns | Sequence[Tick], offset: int
    ) -> tuple[list[LocalBars], BarUpdate]:
        """:meth:`apply` for a next stage in the same process: the same bars and
        indicators as arrays, one :class:`LocalBars` per closed interval."""
        previous = self.bars.watermark
        update = self.bars.apply(ticks, offset)
        self.offset = offset
        if not (update.intervals or update.advanced):
            return [], update
        return self._local(update.intervals, previous, update.watermark), update

    def flush_local(self) -> list[LocalBars]:
        """:meth:`flush` as :class:`LocalBars`."""
        previous = self.bars.watermark
        update = self.bars.flush()
        return self._local(update.intervals, previous, update.watermark)

    def _local(
        self, intervals: Sequence[ClosedBars], previous: int, watermark: int
    ) -> list[LocalBars]:
        """One per interval; only the last carries the new watermark (as :meth:`apply`)."""
        us = self.bars.interval_us
        out = [
            LocalBars.of(self.partition, previous, us, interval, StatsArrays.of(stats))
            for interval in intervals
            for stats in [self._indicators(interval)]
        ]
        if not out:
            return [LocalBars.empty(self.partition, watermark, us)]
        out[-1] = dataclasses.replace(out[-1], watermark=watermark)
        return out

    def _stats(self, interval: ClosedBars) -> StatsColumns:
        """The indicators of ``interval``'s bars (:meth:`_indicators`) for the wire."""
        return wire_stats(self._indicators(interval))

    def _indicators(self, interval: ClosedBars) -> IndicatorColumns:
        """Advance the indicators of every symbol with a bar in ``interval``, in one step."""
        if self.table.size < len(self.bars.symbols):
            self.table.grow(len(self.bars.symbols))
        return self.table.on_bars(
            interval.slot,
            interval.open,
            interval.high,
            interval.low,
            interval.close,
            interval.volume,
        )

    def _frame(
        self, pieces: list[tuple[ClosedBars, StatsColumns, int, int]], watermark: int
    ) -> BarFrame:
        """One frame of the rows ``lo:hi`` of each (interval, its indicators) piece."""

        def joined(part: Callable[[ClosedBars, StatsColumns, int, int], list[Any]]) -> Any:
            if len(pieces) == 1:
                return part(*pieces[0])
            return list(itertools.chain.from_iterable(part(*piece) for piece in pieces))

        def column(name: str) -> Any:
            return joined(lambda bars, _, lo, hi: getattr(bars, name)[lo:hi].tolist())

        def indicator(name: str) -> Any:
            def rows(_: ClosedBars, stats: StatsColumns, lo: int, hi: int) -> list[Any]:
                values: list[Any] = getattr(stats, name)
                return values if lo == 0 and hi == len(values) else values[lo:hi]

            return joined(rows)

        stats = None
        if any(hi > lo for _, _, lo, hi in pieces):
            stats = StatsColumns(
                **{name: indicator(name) for name in StatsColumns.__struct_fields__}
            )
        return BarFrame(
            partition=self.partition,
            watermark=watermark,
            source_offset=self.offset,
            replay_from=self.replay_from,
            bar_us=self.bars.interval_us,
            symbol=joined(lambda bars, _, lo, hi: bars.symbols[lo:hi]),
            end=joined(lambda bars, _, lo, hi: [bars.end] * (hi - lo)),
            open=column("open"),
            high=column("high"),
            low=column("low"),
            close=column("close"),
            volume=column("volume"),
            ticks=column("ticks"),
            stats=stats,
        )

    def replay_frame(self, frame: BarFrame) -> None:
        """Take one earlier frame of this partition, in order: its bars feed the symbols'
        indicators exactly as when they were first closed. A bar already fed (a copy
        sent again by a stage that restarted before its input was committed) is
        skipped: each symbol's bars go in once, in the order of their ends."""
        if not len(frame):
            return
        slots = self.bars.slots_of(frame.symbol)
        if self.table.size < len(self.bars.symbols):
            self.table.grow(len(self.bars.symbols))
        fed = self._fed_ends()
        ends = np.asarray(frame.end, dtype=np.int64)
        columns = [np.asarray(getattr(frame, name), dtype=np.float64) for name in _OHLCV]
        for end in dict.fromkeys(ends.tolist()):  # each interval once, in order
            rows = np.flatnonzero((ends == end) & (fed[slots] < end))
            if rows.size:
                self.table.on_bars(slots[rows], *(column[rows] for column in columns))
                fed[slots[rows]] = end

    def _fed_ends(self) -> np.ndarray:
        """Per slot, the end of the newest bar :meth:`replay_frame` fed (-1: none)."""
        fed = self._fed
        size = len(self.bars.symbols)
        if fed is None or fed.size < size:
            grown = np.full(size, -1, dtype=np.int64)
            if fed is not None:
                grown[: fed.size] = fed
            self._fed = fed = grown
        return fed

    def restore(self, frame: BarFrame) -> int:
        """Continue from the last frame this stage published (after ``replay_frame`` of
        every frame up to it); return the tick offset to replay from."""
        self.bars.watermark = max(self.bars.watermark, frame.watermark)
        self.offset = frame.replay_from - 1
        self._fed = None  # only needed while frames are replayed
        return frame.replay_from
