"""What a replay sends: the rows of a file of bars or ticks, in time order, as ticks.

Bars become ticks that rebuild the same bar in the pipeline (see :mod:`rotation.replay`).
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


def check_bars(table: Table, rows: np.ndarray, bar_seconds: int) -> None:
    """Bars must lie on the pipeline's grid, one per symbol and interval."""
    bar_us = bar_seconds * MICROS
    off = rows[table.ts[rows] % bar_us != 0]
    if off.size:
        i = int(off[0])
        start = iso_from_micros(int(table.ts[i]))
        raise ReplayError(
            f"{table.where(i, 'timestamp')}: the bar starts at {start}, off the "
            f"{bar_seconds} s grid counted from 1970-01-01 00:00 UTC on which the pipeline's bars "
            "start; check the bar interval (--bar-seconds)"
        )
    codes, _ = pd.factorize(table.symbols[rows])
    order = np.lexsort((table.ts[rows], codes))
    same = (codes[order][1:] == codes[order][:-1]) & (np.diff(table.ts[rows][order]) == 0)
    if same.any():
        k = int(np.flatnonzero(same)[0])
        first, second = int(rows[order][k]), int(rows[order][k + 1])
        raise ReplayError(
            f"{table.where(second, 'timestamp')}: a second {table.symbols[second]} bar at "
            f"{iso_from_micros(int(table.ts[second]))} (the first is row {int(table.rows[first])})"
        )


@dataclass
class ReplayPlan:
    """The ticks a time-sorted table turns into, in event-time order, by row range."""

    table: Table
    fed: np.ndarray
    bar_seconds: int
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
        interval = self.table.ts[rows] // (self.bar_seconds * MICROS)
        return int(np.unique(codes.astype(np.int64) * (int(interval.max()) + 1) + interval).size)

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
        close = values["close"][idx]
        legs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if self.ohlc:
            for offset, col in enumerate(("open", "high", "low")):
                price = values.get(col)
                leg = close if price is None else np.where(np.isnan(price[idx]), close, price[idx])
                legs.append((ts + offset, leg, np.zeros(idx.size)))
        legs.append((ts + self.bar_seconds * MICROS - 1, close, _or(values.get("volume"), idx, 0)))
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
        close = values["close"][idx]
        legs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if self.ohlc:
            for offset, col in enumerate(("open", "high", "low")):
                price = values.get(col)
                leg = close if price is None else np.where(np.isnan(price[idx]), close, price[idx])
                legs.append((ts + offset, leg, np.zeros(idx.size)))
        legs.append((ts + self.bar_seconds * MICROS - 1, close, _or(values.get("volume"), idx, 0)))
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
