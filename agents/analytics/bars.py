"""Event-time OHLCV bars of the symbols of one tick partition.

A bar covers the event-time interval [start, start + interval). Open is the price of
the tick with the earliest event time in it, close that of the latest (ties: the
tick that arrived first opens, the one that arrived last closes), so ticks that
arrive out of order within the allowed lateness give the same bar as ordered ones.
A tick equal to one already in its bar (same event time, price and size) is a
duplicate, a retried send or a replayed feed: it is returned, not counted. The partition's
watermark is the end of the last interval that has fully passed:
``floor((max_ts - allowed_lateness) / interval) * interval``; every open bar that
ends at or before it is closed and returned. A tick for an interval that is already
closed is *late*: it is returned to the caller (to be dead-lettered with reason
``late``), never mixed into a bar that was already sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.records import Bar, Tick
from streams.units import MICROS


class _OpenBar:
    __slots__ = (
        "close",
        "close_ts",
        "first_offset",
        "high",
        "low",
        "open",
        "open_ts",
        "seen",
        "start",
        "ticks",
        "volume",
    )

    def __init__(self, start: int, tick: Tick, first_offset: int) -> None:
        self.start = start
        self.first_offset = first_offset
        self.open = self.high = self.low = self.close = tick.price
        self.open_ts = self.close_ts = tick.ts
        self.volume = tick.size
        self.ticks = 1
        self.seen = {(tick.ts, tick.price, tick.size)}

    def add(self, tick: Tick) -> bool:
        """Add a tick; False if it is a duplicate of one already in the bar."""
        key = (tick.ts, tick.price, tick.size)
        if key in self.seen:
            return False
        self.seen.add(key)
        price = tick.price
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        if tick.ts < self.open_ts:
            self.open, self.open_ts = price, tick.ts
        if tick.ts >= self.close_ts:
            self.close, self.close_ts = price, tick.ts
        self.volume += tick.size
        self.ticks += 1
        return True


@dataclass
class BarUpdate:
    """What one batch of ticks did: bars it closed, late and duplicate ticks, the watermark."""

    closed: list[Bar]
    late: list[Tick]
    duplicates: list[Tick]
    watermark: int
    advanced: bool


@dataclass
class PartitionBars:
    """Bars of every symbol seen in one tick partition."""

    interval_us: int
    allowed_lateness_us: int = 0
    watermark: int = 0
    _open: dict[tuple[str, int], _OpenBar] = field(default_factory=dict)
    _max_ts: int = -1

    @classmethod
    def every(cls, seconds: int, allowed_lateness_seconds: float = 0) -> PartitionBars:
        return cls(seconds * MICROS, int(allowed_lateness_seconds * MICROS))

    def apply(self, ticks: list[Tick], offset: int = -1) -> BarUpdate:
        """Add ticks (any order) and close every bar the new watermark passes.

        ``offset`` (of the message holding the ticks) is remembered by each bar it opens,
        for :meth:`first_open_offset`.
        """
        interval = self.interval_us
        late: list[Tick] = []
        duplicates: list[Tick] = []
        opened = self._open
        for tick in ticks:
            start = tick.ts - tick.ts % interval
            if start < self.watermark:
                late.append(tick)
                continue
            key = (tick.symbol, start)
            bar = opened.get(key)
            if bar is None:
                opened[key] = _OpenBar(start, tick, offset)
            elif not bar.add(tick):
                duplicates.append(tick)
                continue
            if tick.ts > self._max_ts:
                self._max_ts = tick.ts
        return self._advance(late, duplicates)

    def first_open_offset(self) -> int | None:
        """Smallest ``offset`` among the bars still open (None when none is)."""
        return min((bar.first_offset for bar in self._open.values()), default=None)

    def flush(self) -> BarUpdate:
        """End of input: close every open bar and move the watermark past them."""
        if self._open:
            end = max(bar.start for bar in self._open.values()) + self.interval_us
            self._max_ts = max(self._max_ts, end + self.allowed_lateness_us)
        return self._advance([], [])

    def _advance(self, late: list[Tick], duplicates: list[Tick]) -> BarUpdate:
        interval = self.interval_us
        horizon = self._max_ts - self.allowed_lateness_us
        new_watermark = max(self.watermark, horizon - horizon % interval) if horizon >= 0 else 0
        advanced = new_watermark > self.watermark
        self.watermark = new_watermark
        closed = []
        if advanced:
            for key in [
                k for k, bar in self._open.items() if bar.start + interval <= new_watermark
            ]:
                closed.append(self._to_bar(key[0], self._open.pop(key)))
            closed.sort(key=lambda b: (b.end, b.symbol))
        return BarUpdate(closed, late, duplicates, new_watermark, advanced)

    def _to_bar(self, symbol: str, bar: _OpenBar) -> Bar:
        return Bar(
            symbol=symbol,
            start=bar.start,
            end=bar.start + self.interval_us,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
            ticks=bar.ticks,
        )
