"""Stage one's bars handed to stage two in the same process, as arrays.

Between two workers the bars travel as a :class:`~streams.records.BarFrame`, one Python
list per field, which :class:`~agents.analytics.interval_bars.IntervalBars` turns back
into arrays. In one process (:class:`~agents.analytics.pipeline.Pipeline`, the offline
replay) that round trip is work for nothing: a profile of a replay of 1.5 million daily
closes put about a quarter of its time there. :class:`LocalBars` has the attributes of a
``BarFrame`` that the interval merge reads, holding the arrays themselves, with the
indicators as float arrays exactly as they come out of the wire (``None`` -> NaN, a
flag -> 1.0/0.0), so the merged intervals are the same numbers either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agents.analytics.bars import ClosedBars
from agents.analytics.symbol_table import IndicatorColumns

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _optional(values: npt.NDArray[np.generic], present: npt.NDArray[np.bool_]) -> Floats:
    return np.where(present, values.astype(np.float64), np.nan)


@dataclass(frozen=True)
class StatsArrays:
    """The fields of :class:`~streams.records.StatsColumns`, one float array each."""

    close: Floats
    prev_close: Floats
    change_pct: Floats
    return_pct: Floats
    sma: Floats
    ema: Floats
    above_sma: Floats
    high_n: Floats
    low_n: Floats
    new_high: Floats
    new_low: Floats
    direction: Floats
    up_volume: Floats
    down_volume: Floats
    bars: Floats

    @classmethod
    def of(cls, columns: IndicatorColumns) -> StatsArrays:
        """What :func:`~agents.analytics.tick_partition.wire_stats` writes, read back."""
        return cls(
            close=columns.close,
            prev_close=columns.prev_close,
            change_pct=columns.change_pct,
            return_pct=columns.return_pct,
            sma=columns.sma,
            ema=columns.ema,
            above_sma=_optional(columns.above_sma, columns.has_sma),
            high_n=columns.high_n,
            low_n=columns.low_n,
            new_high=columns.new_high.astype(np.float64),
            new_low=columns.new_low.astype(np.float64),
            direction=_optional(columns.direction, columns.has_prev),
            up_volume=columns.up_volume,
            down_volume=columns.down_volume,
            bars=columns.bars.astype(np.float64),
        )


@dataclass(frozen=True)
class LocalBars:
    """One interval's bars of one partition (or none, to move the watermark)."""

    partition: int
    watermark: int
    bar_us: int
    symbol: list[str]
    end: Ints
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats
    ticks: Ints
    stats: StatsArrays | None

    def __len__(self) -> int:
        return len(self.symbol)

    @classmethod
    def of(
        cls, partition: int, watermark: int, bar_us: int, bars: ClosedBars, stats: StatsArrays
    ) -> LocalBars:
        return cls(
            partition=partition,
            watermark=watermark,
            bar_us=bar_us,
            symbol=bars.symbols,
            end=np.full(len(bars), bars.end, dtype=np.int64),
            open=bars.open,
            high=bars.high,
            low=bars.low,
            close=bars.close,
            volume=bars.volume,
            ticks=bars.ticks,
            stats=stats,
        )

    @classmethod
    def empty(cls, partition: int, watermark: int, bar_us: int) -> LocalBars:
        none = np.empty(0, dtype=np.float64)
        return cls(
            partition, watermark, bar_us, [], np.empty(0, dtype=np.int64),
            none, none, none, none, none, np.empty(0, dtype=np.int64), None,
        )  # fmt: skip
