"""What a replay sends: the rows of a file of bars or ticks, in time order, as ticks.

Bars become ticks that rebuild the same bar in the pipeline (see :mod:`rotation.replay`):
each row is placed in its bar on the calendar's sessions (:class:`streams.sessions.BarGrid`)
and its ticks fall inside that bar.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from agents.analytics.tick_columns import TickColumns
from rotation.replay_errors import ReplayError
from rotation.tabular import Table
from streams.records import Tick
from streams.sessions import BarGrid, Sessions
from streams.units import MICROS, iso_from_micros

SOURCE = "replay"
"""The ``source`` of every tick a replay sends."""


def infer_bar_seconds(table: Table, rows: np.ndarray) -> int | None:
    """The most common gap between consecutive bars of a symbol, in seconds (ties: the
    smallest), or None when no symbol has two bars."""
    codes, _ = pd.factorize(table.symbols[rows])
    ts = table.ts[rows]
    order = np.lexsort((ts, codes))
    codes, ts = codes[order], ts[order]
    gaps = np.diff(ts)[(codes[1:] == codes[:-1])]
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return None
    values, counts = np.unique(gaps, return_counts=True)
    gap = int(values[np.argmax(counts)])
    if gap % MICROS:
        raise ReplayError(
            f"{table.path}: the most common gap between two bars of a symbol is {gap} us, "
            "not a whole number of seconds: pass --bar-seconds"
        )
    return gap // MICROS


def check_bars(
    table: Table, rows: np.ndarray, bar_seconds: int, sessions: Sessions | None = None
) -> None:
    """Bars must be the pipeline's bars, one per symbol and bar: on a calendar, a daily
    row on a session's date (any time of it, or 00:00 UTC), an intraday row at a
    session's open plus whole intervals; without one, on the epoch grid."""
    sessions = sessions or Sessions.continuous()
    grid = sessions.grid(bar_seconds * MICROS)
    ts = table.ts[rows]
    starts = grid.starts(ts)
    wrong = rows[(starts < 0) | (starts != ts)] if not grid.daily else rows[starts < 0]
    if wrong.size:
        i = int(wrong[0])
        raise ReplayError(f"{table.where(i, 'timestamp')}: {_off_grid(grid, int(table.ts[i]))}")
    codes, _ = pd.factorize(table.symbols[rows])
    order = np.lexsort((ts, codes))
    same = (codes[order][1:] == codes[order][:-1]) & (np.diff(starts[order]) == 0)
    if same.any():
        k = int(np.flatnonzero(same)[0])
        first, second = int(rows[order][k]), int(rows[order][k + 1])
        what = f"of the {sessions.name} session" if grid.daily else "starting"
        raise ReplayError(
            f"{table.where(second, 'timestamp')}: a second {table.symbols[second]} bar "
            f"{what} at {iso_from_micros(int(starts[order][k + 1]))} (the first is row "
            f"{int(table.rows[first])}, at {iso_from_micros(int(table.ts[first]))})"
        )


def _off_grid(grid: BarGrid, ts: int) -> str:
    """Why a bar stamped ``ts`` is not one of ``grid``'s, and what to do."""
    sessions, seconds = grid.sessions, grid.interval_us // MICROS
    stamp = iso_from_micros(ts)
    if sessions.is_continuous:
        return (
            f"the bar starts at {stamp}, off the {seconds} s grid counted from 1970-01-01 "
            "00:00 UTC on which bars start without a calendar ([calendar] exchange = "
            '"24/7"); give the bars\' interval with --bar-seconds, or set [calendar] exchange '
            "to the exchange whose sessions they follow"
        )
    if grid.daily:
        return (
            f"the daily bar at {stamp} is on a date without a session of {sessions.name} (a "
            f"weekend or a holiday; sessions cover {sessions.span()}): drop the row, or set "
            '[calendar] exchange to the exchange the data is from ("24/7": no calendar)'
        )
    start = int(grid.starts(np.array([ts], dtype=np.int64))[0])
    if start < 0:
        return (
            f"the bar at {stamp} is outside every {sessions.name} session (a weekend, a "
            f"holiday, before the open or after the close): drop the row, or set [calendar] "
            'exchange to the exchange the data is from ("24/7": no calendar)'
        )
    return (
        f"the bar starts at {stamp}, not on the {grid.describe()} (the nearest start is "
        f"{iso_from_micros(start)}): bars must start at the open plus whole intervals; "
        "check the bar interval (--bar-seconds) and that the times are bar starts"
    )


@dataclass
class ReplayPlan:
    """The ticks a time-sorted table turns into, in event-time order, by row range."""

    table: Table
    fed: np.ndarray
    bar_seconds: int
    sessions: Sessions = field(default_factory=Sessions.continuous)
    """The calendar the bars follow: where each row's bar starts and ends."""
    ohlc: bool = field(init=False)
    boundaries: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.ohlc = self.table.kind == "bars" and any(
            col in self.table.values for col in ("open", "high", "low")
        )
        ts = self.table.ts
        # Rows with equal times form a group; blocks end between groups, so the ticks
        # of a block all precede those of the next one in event time.
        self.boundaries = np.append(np.flatnonzero(np.diff(ts) != 0) + 1, ts.size)

    @property
    def ticks_per_row(self) -> int:
        return 4 if self.ohlc else 1

    def tick_count(self, start: int = 0) -> int:
        return int(self.fed[start:].sum()) * self.ticks_per_row

    def bar_count(self, start: int = 0) -> int:
        """Bars the pipeline builds from rows ``start:``: distinct (symbol, interval)."""
        rows = start + np.flatnonzero(self.fed[start:])
        if rows.size == 0:
            return 0
        codes, _ = pd.factorize(self.table.symbols[rows])
        starts = self._grid().starts(self.table.ts[rows])
        return len(pd.DataFrame({"symbol": codes, "start": starts}).drop_duplicates())

    def _grid(self) -> BarGrid:
        return self.sessions.grid(self.bar_seconds * MICROS)

    def _legs(self, idx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The ticks of bar rows ``idx`` as (time, price, size) legs: open at the bar's
        start, high 1 us and low 2 us later (with OHLC columns), close 1 us before its
        end carrying the volume."""
        values = self.table.values
        start, end = self._grid().bounds(self.table.ts[idx])
        close = values["close"][idx]
        legs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if self.ohlc:
            for offset, col in enumerate(("open", "high", "low")):
                price = values.get(col)
                leg = close if price is None else np.where(np.isnan(price[idx]), close, price[idx])
                legs.append((start + offset, leg, np.zeros(idx.size)))
        legs.append((end - 1, close, _or(values.get("volume"), idx, 0)))
        return legs

    def blocks(self, start: int, target_ticks: int) -> Iterator[tuple[int, int]]:
        """Row ranges [lo, hi) from ``start`` of about ``target_ticks`` ticks each."""
        rows = max(1, target_ticks // self.ticks_per_row)
        lo, n = start, len(self.table)
        while lo < n:
            k = int(np.searchsorted(self.boundaries, lo + rows, side="left"))
            hi = int(self.boundaries[k]) if k < self.boundaries.size else n
            yield lo, hi
            lo = hi

    def columns(self, lo: int, hi: int) -> TickColumns:
        """The ticks of rows ``lo:hi`` (in-universe rows only), in event-time order, as
        columns: the same ticks as :meth:`ticks`, with no object per tick."""
        idx = lo + np.flatnonzero(self.fed[lo:hi])
        if idx.size == 0:
            return TickColumns.empty()
        table, values = self.table, self.table.values
        ts = table.ts[idx]
        codes, uniques = pd.factorize(table.symbols[idx])
        symbols = [str(s) for s in uniques]
        symbol = codes.astype(np.int64)
        if table.kind == "ticks":
            bid, ask = (_quote(values.get(col), idx) for col in ("bid", "ask"))
            return TickColumns(
                symbols,
                symbol,
                ts,
                values["price"][idx],
                _or(values.get("size"), idx, 0.0),
                np.arange(idx.size, dtype=np.int64),
                bid,
                ask,
            )
        legs = self._legs(idx)
        all_ts = np.concatenate([leg[0] for leg in legs])
        order = np.argsort(all_ts, kind="stable")
        return TickColumns(
            symbols,
            np.tile(symbol, len(legs))[order],
            all_ts[order],
            np.concatenate([leg[1] for leg in legs])[order].astype(np.float64, copy=False),
            np.concatenate([leg[2] for leg in legs])[order].astype(np.float64, copy=False),
            np.arange(all_ts.size, dtype=np.int64),
        )

    def ticks(self, lo: int, hi: int) -> list[Tick]:
        """The ticks of rows ``lo:hi`` (in-universe rows only), in event-time order, one
        record each: what :meth:`columns` gives as arrays (kept as its reference)."""
        idx = lo + np.flatnonzero(self.fed[lo:hi])
        if idx.size == 0:
            return []
        table, values = self.table, self.table.values
        ts = table.ts[idx]
        symbols = table.symbols[idx]
        if table.kind == "ticks":
            price = values["price"][idx]
            size = _or(values.get("size"), idx, 0.0)
            bid = _or(values.get("bid"), idx, np.nan)
            ask = _or(values.get("ask"), idx, np.nan)
            return [
                Tick(
                    symbol=s,
                    ts=t,
                    price=p,
                    size=z,
                    bid=None if b != b else b,
                    ask=None if a != a else a,
                    source=SOURCE,
                )
                for s, t, p, z, b, a in zip(
                    symbols.tolist(),
                    ts.tolist(),
                    price.tolist(),
                    size.tolist(),
                    bid.tolist(),
                    ask.tolist(),
                    strict=True,
                )
            ]
        legs = self._legs(idx)
        all_ts = np.concatenate([leg[0] for leg in legs])
        order = np.argsort(all_ts, kind="stable")
        all_symbols = np.tile(symbols, len(legs))[order]
        all_price = np.concatenate([leg[1] for leg in legs])[order]
        all_size = np.concatenate([leg[2] for leg in legs])[order]
        return [
            Tick(symbol=s, ts=t, price=p, size=z, source=SOURCE)
            for s, t, p, z in zip(
                all_symbols.tolist(),
                all_ts[order].tolist(),
                all_price.tolist(),
                all_size.tolist(),
                strict=True,
            )
        ]


def _quote(column: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    """A bid or ask column (NaN where a tick has none); None when no tick has one."""
    if column is None:
        return None
    values = column[idx]
    return None if np.isnan(values).all() else values


def _or(column: np.ndarray | None, idx: np.ndarray, default: float) -> np.ndarray:
    if column is None:
        return np.full(idx.size, default, dtype=np.float64)
    values = column[idx]
    return np.where(np.isnan(values), default, values)
