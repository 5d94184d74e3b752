"""The bars of one complete interval, from every tick partition, as columns.

What the rotation stage computes on: one array per bar field and per indicator of
:class:`~streams.records.SymbolStats`, one entry per symbol with a bar in the
interval, ordered by symbol. An indicator that has no value yet (``None`` on the
wire) is NaN here; a flag is 1.0/0.0 (NaN: no value yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agents.analytics.local_bars import LocalBars
from streams.records import Bar, BarFrame, StatsColumns, SymbolStats

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

STATS = StatsColumns.__struct_fields__
_INTEGER = {"direction", "bars"}
_FLAGS = {"above_sma", "new_high", "new_low"}
_OPTIONAL = {"prev_close", "change_pct", "return_pct", "sma", "above_sma", "direction"}


@dataclass(frozen=True)
class IntervalBars:
    end: int
    bar_us: int
    symbols: list[str]
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats
    ticks: Ints
    stats: dict[str, Floats] | None
    """Per :class:`SymbolStats` field; None when the bars came without indicators."""

    def __len__(self) -> int:
        return len(self.symbols)

    @classmethod
    def gather(cls, end: int, pieces: Sequence[tuple[BarFrame | LocalBars, Ints]]) -> IntervalBars:
        """The bars at ``rows`` of each frame (all ending at ``end``); a symbol sent more
        than once (a retry, or a replay after a restart) counts once, its last copy."""
        names = np.concatenate(
            [np.asarray(frame.symbol, dtype=str)[rows] for frame, rows in pieces]
        )
        last = len(names) - 1 - np.unique(names[::-1], return_index=True)[1]

        def column(values: Sequence[Any], dtype: type) -> Any:
            parts: list[Any] = [
                np.asarray(v, dtype=dtype)[rows]
                for v, (_, rows) in zip(values, pieces, strict=True)
            ]
            return np.concatenate(parts)[last]

        frames = [frame for frame, _ in pieces]
        with_stats = all(frame.stats is not None for frame in frames)
        stats = None
        if with_stats:
            stats = {
                name: column([getattr(frame.stats, name) for frame in frames], float)
                for name in STATS
            }
        return cls(
            end=end,
            bar_us=frames[0].bar_us,
            symbols=names[last].tolist(),
            open=column([f.open for f in frames], float),
            high=column([f.high for f in frames], float),
            low=column([f.low for f in frames], float),
            close=column([f.close for f in frames], float),
            volume=column([f.volume for f in frames], float),
            ticks=column([f.ticks for f in frames], np.int64),
            stats=stats,
        )

    @classmethod
    def of(cls, end: int, bars: Sequence[Bar]) -> IntervalBars:
        """From bar records (all ending at ``end``), as they are."""
        frame = BarFrame.of(0, end, list(bars))
        return cls.gather(end, [(frame, np.arange(len(bars)))])

    def stats_of(self, i: int) -> SymbolStats | None:
        """Bar ``i``'s indicators as a record."""
        if self.stats is None:
            return None
        values: dict[str, Any] = {}
        for name in STATS:
            value = float(self.stats[name][i])
            if value != value:
                values[name] = None
            elif name in _FLAGS:
                values[name] = value == 1.0
            elif name in _INTEGER:
                values[name] = int(value)
            else:
                values[name] = value
        return SymbolStats(**values)

    def bars(self) -> list[Bar]:
        """The bars as records, by symbol."""
        start = self.end - self.bar_us
        return [
            Bar(
                symbol=symbol,
                start=start,
                end=self.end,
                open=float(self.open[i]),
                high=float(self.high[i]),
                low=float(self.low[i]),
                close=float(self.close[i]),
                volume=float(self.volume[i]),
                ticks=int(self.ticks[i]),
                stats=self.stats_of(i),
            )
            for i, symbol in enumerate(self.symbols)
        ]
