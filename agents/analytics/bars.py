"""Event-time OHLCV bars of the symbols of one tick partition.

A bar covers the event-time interval [start, start + interval). The partition's
watermark is the end of the last interval that has fully passed:
``floor((max_ts - allowed_lateness) / interval) * interval``; every open bar that
ends at or before it is closed and returned. A tick for an interval that is already
closed is *late*: it is returned to the caller (to be dead-lettered with reason
``late``), never mixed into a bar that was already sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.records import Bar, Tick

MICROS = 1_000_000


@dataclass
class _OpenBar:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    ticks: int

    def add(self, price: float, size: float) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size
        self.ticks += 1


@dataclass
class BarUpdate:
    """What one batch of ticks did: bars it closed, ticks that were late, the watermark."""

    closed: list[Bar]
    late: list[Tick]
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

    def apply(self, ticks: list[Tick]) -> BarUpdate:
        """Add ticks (any order) and close every bar the new watermark passes."""
        interval = self.interval_us
        late: list[Tick] = []
        for tick in ticks:
            start = tick.ts - tick.ts % interval
            if start < self.watermark:
                late.append(tick)
                continue
            key = (tick.symbol, start)
            bar = self._open.get(key)
            if bar is None:
                self._open[key] = _OpenBar(
                    start, tick.price, tick.price, tick.price, tick.price, tick.size, 1
                )
            else:
                bar.add(tick.price, tick.size)
            if tick.ts > self._max_ts:
                self._max_ts = tick.ts
        return self._advance(late)

    def flush(self) -> BarUpdate:
        """End of input: close every open bar and move the watermark past them."""
        if self._open:
            end = max(bar.start for bar in self._open.values()) + self.interval_us
            self._max_ts = max(self._max_ts, end + self.allowed_lateness_us)
        return self._advance([])

    def _advance(self, late: list[Tick]) -> BarUpdate:
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
        return BarUpdate(closed, late, new_watermark, advanced)

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
