"""Per-symbol indicators, updated one closed bar at a time.

What a breadth count needs to know about each member: did it advance or decline,
on how much volume, is it above its moving average, did it make a new high or low.

Formulas (docs/analytics.md, "Breadth"; the moving averages are those of
:mod:`agents.analytics.indicators`):

    change_pct  = (C_t / C_{t-1} - 1) * 100
    return_pct  = (C_t / C_{t-n} - 1) * 100                  n = return_bars
    sma, ema    = SMA_n(C), EMA_n(C)                          EMA seeded with C_0
    above_sma   = C_t > SMA_n(C)_t                            None until n bars
    high_n      = max(H_{t-N+1} .. H_t)                       N = high_low_bars
    low_n       = min(L_{t-N+1} .. L_t)
    new_high    = H_t > max(H_{t-N} .. H_{t-1})               False until N previous bars
    new_low     = L_t < min(L_{t-N} .. L_{t-1})
    direction   = sign(C_t - C_{t-1})                         +1 advancing, -1 declining
    up_volume   = V_t if direction = +1 else 0
    down_volume = V_t if direction = -1 else 0

Convention: indicators advance only on the symbol's own bars. An interval in which
the symbol did not trade produces no bar and no update, so "the previous close" is
the close of the symbol's previous bar, and an n-bar window spans the symbol's last
n bars, however many intervals they cover.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from agents.analytics.indicators import Ema, RollingExtremes, Sma
from streams.records import SymbolStats


@dataclass(frozen=True)
class SymbolParams:
    """Window lengths, in bars of the symbol."""

    sma_bars: int = 50
    ema_bars: int = 20
    return_bars: int = 21
    high_low_bars: int = 52

    def __post_init__(self) -> None:
        for name in ("sma_bars", "ema_bars", "return_bars", "high_low_bars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class SymbolState:
    """The running indicators of one symbol; feed it the symbol's bars in order."""

    def __init__(self, params: SymbolParams | None = None) -> None:
        self.params = params = params or SymbolParams()
        # The oldest close kept is C_{t-n}, the base of the n-bar return.
        self.closes: deque[float] = deque(maxlen=params.return_bars + 1)
        self.sma = Sma(params.sma_bars)
        self.ema = Ema.span(params.ema_bars)
        self.highs = RollingExtremes(params.high_low_bars)
        self.lows = RollingExtremes(params.high_low_bars)
        self.bars = 0

    def on_bar(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> SymbolStats:
        """Add one closed bar and return the symbol's figures at it."""
        finite = all(math.isfinite(x) for x in (open, high, low, close))
        if not (finite and 0 < low <= min(open, close) and max(open, close) <= high):
            raise ValueError(
                f"bar prices must satisfy 0 < low <= open, close <= high; got "
                f"open={open} high={high} low={low} close={close}"
            )
        if not (math.isfinite(volume) and volume >= 0):
            raise ValueError(f"bar volume must be a finite number >= 0, got {volume}")

        prev_close = self.closes[-1] if self.closes else None
        full_window = len(self.highs.window) == self.highs.n
        prior_high, _ = self.highs.previous()
        _, prior_low = self.lows.previous()
        new_high = full_window and prior_high is not None and high > prior_high
        new_low = full_window and prior_low is not None and low < prior_low

        self.closes.append(close)
        self.bars += 1
        sma = self.sma.update(close)
        ema = self.ema.update(close)
        high_n, _ = self.highs.update(high)
        _, low_n = self.lows.update(low)

        if prev_close is None:
            change_pct, direction = None, None
        else:
            change_pct = (close / prev_close - 1.0) * 100.0
            direction = (close > prev_close) - (close < prev_close)
        return_pct = None
        if len(self.closes) == self.closes.maxlen:
            return_pct = (close / self.closes[0] - 1.0) * 100.0

        return SymbolStats(
            close=close,
            prev_close=prev_close,
            change_pct=change_pct,
            return_pct=return_pct,
            sma=sma,
            ema=ema,
            above_sma=None if sma is None else self._above_sma(close),
            high_n=high_n,
            low_n=low_n,
            new_high=new_high,
            new_low=new_low,
            direction=direction,
            up_volume=volume if direction == 1 else 0.0,
            down_volume=volume if direction == -1 else 0.0,
            bars=self.bars,
        )

    def _above_sma(self, close: float) -> bool:
        """C_t > SMA_n, decided exactly: n C_t - sum(window) > 0.

        ``close > sma`` would compare against a rounded mean, and the mean of n equal
        closes can round below them, calling a flat price "above" its own average;
        fsum adds the 2n terms exactly and rounds once, so the sign is exact.
        """
        window = self.sma.window
        return math.fsum([close] * len(window) + [-c for c in window]) > 0

    def to_state(self) -> dict[str, Any]:
        """Plain JSON-able data from which :meth:`from_state` continues identically."""
        return {
            "bars": self.bars,
            "closes": list(self.closes),
            "sma": self.sma.to_state(),
            "ema": self.ema.to_state(),
            "highs": self.highs.to_state(),
            "lows": self.lows.to_state(),
        }

    @classmethod
    def from_state(cls, params: SymbolParams | None, state: dict[str, Any]) -> SymbolState:
        """A symbol restored from :meth:`to_state`; ``params`` must be those it ran with."""
        symbol = cls(params)
        symbol.bars = int(state["bars"])
        symbol.closes.extend(float(x) for x in state["closes"])
        symbol.sma.restore([float(x) for x in state["sma"]])
        symbol.ema.restore(None if state["ema"] is None else float(state["ema"]))
        symbol.highs.restore([float(x) for x in state["highs"]])
        symbol.lows.restore([float(x) for x in state["lows"]])
        return symbol
