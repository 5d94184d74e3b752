"""Event-time OHLCV bars of the symbols of one tick partition, built with array operations.

A bar covers the event-time interval [start, end) that :class:`~streams.sessions.BarGrid`
gives it: on the epoch grid (no calendar) ``[start, start + interval)``; on an exchange's
sessions anchored at the open and cut at the close, or one bar per session for daily
bars. A tick outside every session is *off-session*: returned to the caller (to be
dead-lettered with reason ``off_session``), never put in a bar. Open is the price of
the tick with the earliest event time in it, close that of the latest (ties: the
tick that arrived first opens, the one that arrived last closes), so ticks that
arrive out of order within the allowed lateness give the same bar as ordered ones.
Volume is the sum of the sizes in arrival order. A tick equal to one already in its
bar (same event time, price and size) is a duplicate, a retried send or a replayed
feed: it is returned, not counted. The partition's watermark is the end of the last
interval that has fully passed: ``floor((max_ts - allowed_lateness) / interval) *
interval`` on the epoch grid, :meth:`~streams.sessions.BarGrid.watermark` on sessions
(in a gap between sessions, the last close); every open bar that ends at or before it is
closed and returned. A tick for an interval that is already closed is *late*: it is
returned to the caller (to be dead-lettered with reason ``late``), never mixed into a
bar that was already sent.

Each open interval holds one slot per symbol of the partition in flat arrays; a
message's ticks are grouped by symbol with one stable sort and merged into the slots
with ``reduceat`` and ``ufunc.at``, so the cost per tick is a few array operations,
not Python code.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from agents.analytics.tick_columns import TickColumns
from streams.records import Bar, Tick
from streams.sessions import BarGrid, Sessions
from streams.units import MICROS

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

SMALL = 8
"""Messages of at most this many ticks take the tick-by-tick path: for a handful of
ticks, a few scalar updates cost less than the fixed cost of a dozen array operations."""

Key = tuple[int, int, float, float]
"""A tick in its bar: (symbol slot, event time, price, size)."""
Rows = npt.NDArray[np.bool_] | list[int]

_NO_TICKS = TickColumns.empty()

# Duplicates are found by a 64-bit hash of each tick's key (plain ints in a set: no
# object per tick for the garbage collector to walk), then confirmed exactly.
_MASK = (1 << 64) - 1
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)
_MIX_ARRAYS = tuple(np.uint64(m) for m in _MIX)


def _hashes(slot: Ints, ts: Ints, price: Floats, size: Floats) -> list[int]:
    """:func:`_hash` of every tick, with array operations (uint64 arithmetic wraps)."""
    h = slot.astype(np.uint64) * _MIX_ARRAYS[0]
    h ^= ts.view(np.uint64) * _MIX_ARRAYS[1]
    h ^= price.view(np.uint64) * _MIX_ARRAYS[2]
    h ^= size.view(np.uint64) * _MIX_ARRAYS[3]
    h ^= h >> np.uint64(31)
    return h.tolist()


def _hash(key: Key) -> int:
    """The hash of one tick's key, equal to :func:`_hashes`' (ts >= 0, size not -0.0)."""
    s, t, p, z = key
    h = (s * _MIX[0]) & _MASK
    h ^= (t * _MIX[1]) & _MASK
    h ^= (_bits(p) * _MIX[2]) & _MASK
    h ^= (_bits(z) * _MIX[3]) & _MASK
    return h ^ (h >> 31)


def _bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


@dataclass(frozen=True)
class ClosedBars:
    """The bars of one interval, as columns, ordered by symbol."""

    start: int
    end: int
    symbols: list[str]
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats
    ticks: Ints
    slot: Ints
    """Each bar's symbol slot in its partition (:attr:`PartitionBars.symbols`)."""

    def __len__(self) -> int:
        return len(self.symbols)

    def bars(self) -> list[Bar]:
        start, end = self.start, self.end
        return [
            Bar(
                symbol=symbol,
                start=start,
                end=end,
                open=o,
                high=h,
                low=lo,
                close=c,
                volume=v,
                ticks=n,
            )
            for symbol, o, h, lo, c, v, n in zip(
                self.symbols,
                self.open.tolist(),
                self.high.tolist(),
                self.low.tolist(),
                self.close.tolist(),
                self.volume.tolist(),
                self.ticks.tolist(),
                strict=True,
            )
        ]


class _Interval:
    """The open bars of one interval: one slot per symbol of the partition."""

    def __init__(self, start: int, end: int, capacity: int) -> None:
        self.start = start
        self.end = end
        self.open = np.zeros(capacity)
        self.open_ts = np.zeros(capacity, dtype=np.int64)
        self.close = np.zeros(capacity)
        self.close_ts = np.zeros(capacity, dtype=np.int64)
        self.high = np.zeros(capacity)
        self.low = np.zeros(capacity)
        self.volume = np.zeros(capacity)
        self.ticks = np.zeros(capacity, dtype=np.int64)
        self.first_offset = np.full(capacity, -1, dtype=np.int64)
        self.seen: set[int] = set()
        self.kept: list[tuple[Ints, Ints, Floats, Floats]] = []
        self.kept_one: list[Key] = []

    def grow(self, capacity: int) -> None:
        extra = capacity - len(self.ticks)
        if extra <= 0:
            return
        for name in ("open", "close", "high", "low", "volume"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra)]))
        for name in ("open_ts", "close_ts", "ticks"):
            grown = np.concatenate([getattr(self, name), np.zeros(extra, dtype=np.int64)])
            setattr(self, name, grown)
        self.first_offset = np.concatenate([self.first_offset, np.full(extra, -1, dtype=np.int64)])

    def add(
        self, slot: Ints, ts: Ints, price: Floats, size: Floats, offset: int
    ) -> npt.NDArray[np.bool_] | None:
        """Merge ticks (in arrival order) into the bars; the mask of the duplicates
        (None when there is none)."""
        size = size + 0.0  # -0.0 is 0.0
        if len(slot) <= SMALL:
            keys = zip(slot.tolist(), ts.tolist(), price.tolist(), size.tolist(), strict=True)
            duplicate = None
            for i, key in enumerate(keys):
                if not self.add_one(key, offset):
                    if duplicate is None:
                        duplicate = np.zeros(len(slot), dtype=bool)
                    duplicate[i] = True
            return duplicate
        hashes = _hashes(slot, ts, price, size)
        duplicate = None
        if not self.seen.isdisjoint(hashes) or len(set(hashes)) != len(hashes):
            duplicate = self._duplicates(slot, ts, price, size, hashes)
            keep = ~duplicate
            slot, ts, price, size = slot[keep], ts[keep], price[keep], size[keep]
            if not len(slot):
                return duplicate
            if not duplicate.any():
                duplicate = None
        self.seen.update(hashes)
        self.kept.append((slot, ts, price, size))

        order = np.lexsort((ts, slot))  # by symbol, then event time, then arrival
        by_slot, by_ts, by_price = slot[order], ts[order], price[order]
        first = np.flatnonzero(np.concatenate(([True], by_slot[1:] != by_slot[:-1])))
        last = np.concatenate((first[1:], [len(order)])) - 1
        slots = by_slot[first]
        new = self.ticks[slots] == 0
        old = ~new

        open_ts, close_ts = by_ts[first], by_ts[last]
        opens = new | (open_ts < self.open_ts[slots])
        self.open[slots[opens]] = by_price[first][opens]
        self.open_ts[slots[opens]] = open_ts[opens]
        closes = new | (close_ts >= self.close_ts[slots])
        self.close[slots[closes]] = by_price[last][closes]
        self.close_ts[slots[closes]] = close_ts[closes]
        high = np.maximum.reduceat(by_price, first)
        low = np.minimum.reduceat(by_price, first)
        self.high[slots] = np.where(old, np.maximum(self.high[slots], high), high)
        self.low[slots] = np.where(old, np.minimum(self.low[slots], low), low)
        self.first_offset[slots[new]] = offset
        self.ticks[slots] += np.diff(np.concatenate((first, [len(order)])))
        np.add.at(self.volume, slot, size)  # in arrival order, as ticks add up one by one
        return duplicate

    def _duplicates(
        self, slot: Ints, ts: Ints, price: Floats, size: Floats, hashes: list[int]
    ) -> npt.NDArray[np.bool_]:
        """Which ticks (of a message in which some hash repeats) are exact repeats."""
        held = self._held()
        mask = np.zeros(len(slot), dtype=bool)
        columns = (slot.tolist(), ts.tolist(), price.tolist(), size.tolist())
        for i, key in enumerate(zip(*columns, strict=True)):
            if key in held:
                mask[i] = True
            else:
                held.add(key)
        return mask

    def _held(self) -> set[Key]:
        """The keys of every tick in these bars (for the rare exact checks)."""
        held: set[Key] = set(self.kept_one)
        for kept in self.kept:
            held.update(zip(*(column.tolist() for column in kept), strict=True))
        return held

    def add_one(self, key: Key, offset: int) -> bool:
        """Merge one tick; False if it is a duplicate."""
        h = _hash(key)
        if h in self.seen and key in self._held():
            return False
        self.seen.add(h)
        self.kept_one.append(key)
        s, t, p, z = key
        if self.ticks[s] == 0:
            self.open[s] = self.close[s] = self.high[s] = self.low[s] = p
            self.open_ts[s] = self.close_ts[s] = t
            self.volume[s] = z
            self.ticks[s] = 1
            self.first_offset[s] = offset
            return True
        if p > self.high[s]:
            self.high[s] = p
        if p < self.low[s]:
            self.low[s] = p
        if t < self.open_ts[s]:
            self.open[s], self.open_ts[s] = p, t
        if t >= self.close_ts[s]:
            self.close[s], self.close_ts[s] = p, t
        self.volume[s] += z
        self.ticks[s] += 1
        return True

    def first_open_offset(self) -> int:
        return int(self.first_offset[self.ticks > 0].min())


@dataclass
class BarUpdate:
    """What one batch of ticks did: bars it closed (per interval, as columns), late,
    duplicate and off-session ticks, the watermark."""

    intervals: list[ClosedBars]
    late: TickColumns
    duplicates: TickColumns
    watermark: int
    advanced: bool
    off_session: TickColumns = _NO_TICKS
    """Ticks outside every session of the calendar: in no bar."""

    @cached_property
    def closed(self) -> list[Bar]:
        """The closed bars as records, by (end, symbol)."""
        return [bar for interval in self.intervals for bar in interval.bars()]


@dataclass
class PartitionBars:
    """Bars of every symbol seen in one tick partition."""

    interval_us: int
    allowed_lateness_us: int = 0
    watermark: int = 0
    symbols: list[str] = field(default_factory=list)
    """Every symbol seen, by slot (the order they first appeared in)."""
    _slots: dict[str, int] = field(default_factory=dict)
    _rank: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _open: dict[int, _Interval] = field(default_factory=dict)
    _max_ts: int = -1
    sessions: Sessions = field(default_factory=Sessions.continuous)
    """The trading sessions bars follow (continuous: the epoch grid)."""

    def __post_init__(self) -> None:
        self.grid: BarGrid = self.sessions.grid(self.interval_us)
        self._continuous = self.sessions.is_continuous

    @classmethod
    def every(
        cls, seconds: int, allowed_lateness_seconds: float = 0, sessions: Sessions | None = None
    ) -> PartitionBars:
        return cls(
            seconds * MICROS,
            int(allowed_lateness_seconds * MICROS),
            sessions=sessions or Sessions.continuous(),
        )

    def slots_of(self, symbols: Sequence[str]) -> Ints:
        """The slot of each symbol (new symbols get one)."""
        slots = self._slots
        try:
            return np.fromiter(map(slots.__getitem__, symbols), np.int64, len(symbols))
        except KeyError:
            pass
        added = False
        for symbol in symbols:
            if symbol not in slots:
                slots[symbol] = len(self.symbols)
                self.symbols.append(symbol)
                added = True
        if added:
            order = sorted(range(len(self.symbols)), key=self.symbols.__getitem__)
            self._rank = np.empty(len(order), dtype=np.int64)
            self._rank[order] = np.arange(len(order))
            for interval in self._open.values():
                interval.grow(len(self.symbols))
        return np.array([slots[s] for s in symbols], dtype=np.int64)

    def apply(self, ticks: TickColumns | Sequence[Tick], offset: int = -1) -> BarUpdate:
        """Add ticks (any order) and close every bar the new watermark passes.

        ``offset`` (of the message holding the ticks) is remembered by each bar it opens,
        for :meth:`first_open_offset`.
        """
        columns = ticks if isinstance(ticks, TickColumns) else TickColumns.from_ticks(ticks)
        if not len(columns):
            return self._advance(columns, None, None)
        slot = self.slots_of(columns.symbols)[columns.symbol]
        if len(columns) <= SMALL:
            return self._apply_each(columns, slot, offset)
        ts = columns.ts
        if self._continuous:
            starts = ts - ts % self.interval_us
            clock = ts
        else:
            starts, clock = self.grid.place(ts)
        first, last = int(starts.min()), int(starts.max())
        if first == last and first >= self.watermark:  # the common case: one open interval
            found = self._interval(first).add(slot, ts, columns.price, columns.size, offset)
            used = clock if found is None else clock[~found]
            if len(used):
                self._max_ts = max(self._max_ts, int(used.max()))
            return self._advance(columns, None, found)
        off = None if self._continuous or first >= 0 else starts < 0
        late = starts < self.watermark
        if off is not None:
            late &= ~off
        duplicate: npt.NDArray[np.bool_] = np.zeros(len(columns), dtype=bool)
        on_time = ~late if off is None else ~late & ~off
        # The rows of each interval, in arrival order: one stable sort, then slices.
        order = np.flatnonzero(on_time)
        order = order[np.argsort(starts[order], kind="stable")]
        opened, first = np.unique(starts[order], return_index=True)
        bounds = np.append(first, len(order))
        for k, start in enumerate(opened.tolist()):
            rows = order[bounds[k] : bounds[k + 1]]
            found = self._interval(start).add(
                slot[rows], ts[rows], columns.price[rows], columns.size[rows], offset
            )
            if found is not None:
                duplicate[rows[found]] = True
        in_bars = on_time & ~duplicate
        if in_bars.any():
            self._max_ts = max(self._max_ts, int(clock[in_bars].max()))
        return self._advance(columns, late, duplicate, off)

    def _apply_each(self, columns: TickColumns, slot: Ints, offset: int) -> BarUpdate:
        """:meth:`apply` tick by tick, for a message of a few ticks."""
        interval, grid, continuous = self.interval_us, self.grid, self._continuous
        late: list[int] = []
        duplicate: list[int] = []
        off: list[int] = []
        size = columns.size + 0.0  # -0.0 is 0.0
        for i, key in enumerate(
            zip(
                slot.tolist(),
                columns.ts.tolist(),
                columns.price.tolist(),
                size.tolist(),
                strict=True,
            )
        ):
            ts = clock = key[1]
            if continuous:
                start = ts - ts % interval
            else:
                start, clock = grid.place_one(ts)
                if start < 0:
                    off.append(i)
                    continue
            if start < self.watermark:
                late.append(i)
            elif not self._interval(start).add_one(key, offset):
                duplicate.append(i)
            elif clock > self._max_ts:
                self._max_ts = clock
        return self._advance(columns, late or None, duplicate or None, off or None)

    def _interval(self, start: int) -> _Interval:
        bars = self._open.get(start)
        if bars is None:
            end = start + self.interval_us if self._continuous else self.grid.end(start)
            bars = self._open[start] = _Interval(start, end, len(self.symbols))
        return bars

    def first_open_offset(self) -> int | None:
        """Smallest ``offset`` among the bars still open (None when none is)."""
        return min((bars.first_open_offset() for bars in self._open.values()), default=None)

    def flush(self) -> BarUpdate:
        """End of input: close every open bar and move the watermark past them."""
        if self._open:
            passed = self.grid.passed(max(self._open))
            self._max_ts = max(self._max_ts, passed + self.allowed_lateness_us)
        return self._advance(_NO_TICKS, None, None)

    def _advance(
        self,
        columns: TickColumns,
        late: Rows | None,
        duplicate: Rows | None,
        off: Rows | None = None,
    ) -> BarUpdate:
        """Move the watermark; ``late``, ``duplicate`` and ``off`` (off-session) pick
        ticks of ``columns`` (a mask or positions; None: none)."""
        horizon = self._max_ts - self.allowed_lateness_us
        if self._continuous:
            interval = self.interval_us
            new_watermark = horizon - horizon % interval if horizon >= 0 else 0
        else:
            new_watermark = self.grid.watermark(horizon)
        new_watermark = max(self.watermark, new_watermark)
        advanced = new_watermark > self.watermark
        self.watermark = new_watermark
        closed = []
        if advanced:
            ready = [s for s, bars in self._open.items() if bars.end <= new_watermark]
            for start in sorted(ready):
                closed.append(self._close(self._open.pop(start)))
        return BarUpdate(
            closed,
            _NO_TICKS if late is None else columns.take(np.asarray(late)),
            _NO_TICKS if duplicate is None else columns.take(np.asarray(duplicate)),
            new_watermark,
            advanced,
            _NO_TICKS if off is None else columns.take(np.asarray(off)),
        )

    def _close(self, bars: _Interval) -> ClosedBars:
        present = np.flatnonzero(bars.ticks > 0)
        slot = present[np.argsort(self._rank[present], kind="stable")]
        names = self.symbols
        return ClosedBars(
            start=bars.start,
            end=bars.end,
            symbols=[names[i] for i in slot.tolist()],
            open=bars.open[slot],
            high=bars.high[slot],
            low=bars.low[slot],
            close=bars.close[slot],
            volume=bars.volume[slot],
            ticks=bars.ticks[slot],
            slot=slot,
        )
