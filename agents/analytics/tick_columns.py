"""Ticks as columns: one numpy array per field, the unit the bar stage computes on.

A message of thousands of ticks is checked and turned into bars with array
operations, never one Python object per tick. ``symbol`` holds indices into
``symbols`` (the message's own distinct symbols), ``row`` the position of each tick
in the message it came in (kept through :meth:`TickColumns.take`, so a refused tick
is always reported as the message held it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.records import Tick

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class TickColumns:
    symbols: list[str]
    symbol: Ints
    ts: Ints
    price: Floats
    size: Floats
    row: Ints
    bid: Floats | None = None
    """NaN where a tick has no bid; None when no tick has one."""
    ask: Floats | None = None

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def empty(cls) -> TickColumns:
        nothing = np.zeros(0, dtype=np.float64)
        return cls([], _NO_ROWS, _NO_ROWS, nothing, nothing, _NO_ROWS)

    @classmethod
    def from_ticks(cls, ticks: Sequence[Tick]) -> TickColumns:
        index: dict[str, int] = {}
        symbol = [index.setdefault(t.symbol, len(index)) for t in ticks]
        bids = [t.bid for t in ticks]
        asks = [t.ask for t in ticks]
        return cls(
            list(index),
            np.array(symbol, dtype=np.int64),
            np.array([t.ts for t in ticks], dtype=np.int64),
            np.array([t.price for t in ticks], dtype=np.float64),
            np.array([t.size for t in ticks], dtype=np.float64),
            np.arange(len(ticks), dtype=np.int64),
            _optional(bids),
            _optional(asks),
        )

    def take(self, rows: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> TickColumns:
        """The ticks at ``rows`` (positions in these columns, or a mask), order kept."""
        return TickColumns(
            self.symbols,
            self.symbol[rows],
            self.ts[rows],
            self.price[rows],
            self.size[rows],
            self.row[rows],
            None if self.bid is None else self.bid[rows],
            None if self.ask is None else self.ask[rows],
        )

    def tick(self, i: int, source: str = "unknown") -> Tick:
        """Tick ``i`` of these columns as a record."""
        return Tick(
            symbol=self.symbols[int(self.symbol[i])],
            ts=int(self.ts[i]),
            price=float(self.price[i]),
            size=float(self.size[i]),
            bid=_value(self.bid, i),
            ask=_value(self.ask, i),
            source=source,
        )

    def ticks(self, source: str = "unknown") -> list[Tick]:
        return [self.tick(i, source) for i in range(len(self))]


def _optional(values: list[float | None]) -> Floats | None:
    if all(v is None for v in values):
        return None
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _value(column: Floats | None, i: int) -> float | None:
    if column is None:
        return None
    value = float(column[i])
    return None if value != value else value
