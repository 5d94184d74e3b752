"""Relative strength of a pair, bar by bar, with a crossover rule that does not flap.

Formulas (ANALYTICS.md, "Relative strength"; Weinstein's Mansfield RS uses the
same ratio-vs-average form):

    R_t            = P_num,t / P_den,t                   price relative
    SMA_n(R)_t     = (1/n) * sum_{i=0..n-1} R_{t-i}
    rs_vs_sma_pct  = (R_t / SMA_n(R)_t - 1) * 100
    rs_change_pct  = (R_t / R_{t-m} - 1) * 100

Crossover with hysteresis: the state turns *above* only when R_t > SMA (1 + h/100)
and *below* only when R_t < SMA (1 - h/100); inside the band the state holds, so
noise around the average does not flap. The first state after warm-up is taken
silently; each later flip is a signal, unless fewer than ``cooldown`` bars have
passed since the previous signal, in which case the flip waits (it is delayed, never
dropped: it fires on the first bar after the cooldown where the condition holds).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

State = Literal["above", "below"]


@dataclass(frozen=True)
class RSPoint:
    """The pair's figures at one bar."""

    rs: float
    sma: float | None
    vs_sma_pct: float | None
    change_pct: float | None
    state: State | None


@dataclass(frozen=True)
class Crossover:
    """R crossed its moving average (beyond the hysteresis band)."""

    direction: Literal["up", "down"]
    rs: float
    sma: float
    vs_sma_pct: float
    window_start_index: int
    bars_since_previous: int | None


class RelativeStrength:
    """RS line of one pair with its SMA, change and hysteresis crossover state."""

    def __init__(
        self,
        sma_bars: int,
        change_bars: int,
        hysteresis_pct: float = 0.0,
        cooldown_bars: int = 0,
    ) -> None:
        if sma_bars < 1 or change_bars < 1:
            raise ValueError("sma_bars and change_bars must be >= 1")
        self.sma_bars = sma_bars
        self.change_bars = change_bars
        self.band = hysteresis_pct / 100.0
        self.cooldown_bars = cooldown_bars
        self._window: deque[float] = deque(maxlen=sma_bars)
        self._sum = 0.0
        self._history: deque[float] = deque(maxlen=change_bars + 1)
        self.state: State | None = None
        self.bars = 0
        self._last_signal_bar: int | None = None

    def update(self, numerator: float, denominator: float) -> tuple[RSPoint, Crossover | None]:
        """Add one bar's prices of both legs; return the point and a crossover, if any."""
        if numerator <= 0 or denominator <= 0:
            raise ValueError(f"prices must be > 0, got {numerator} / {denominator}")
        rs = numerator / denominator
        if len(self._window) == self.sma_bars:
            self._sum -= self._window[0]
        self._window.append(rs)
        self._sum += rs
        self._history.append(rs)
        self.bars += 1

        sma = self._sum / self.sma_bars if len(self._window) == self.sma_bars else None
        change = None
        if len(self._history) == self.change_bars + 1:
            change = (rs / self._history[0] - 1.0) * 100.0
        vs_sma = None if sma is None else (rs / sma - 1.0) * 100.0
        crossover = None if sma is None else self._cross(rs, sma)
        return RSPoint(rs, sma, vs_sma, change, self.state), crossover

    def _cross(self, rs: float, sma: float) -> Crossover | None:
        if rs > sma * (1.0 + self.band):
            wanted: State | None = "above"
        elif rs < sma * (1.0 - self.band):
            wanted = "below"
        else:
            wanted = None
        if wanted is None or wanted == self.state:
            return None
        if self.state is None:
            self.state = wanted
            return None
        since = None if self._last_signal_bar is None else self.bars - self._last_signal_bar
        if since is not None and since < self.cooldown_bars:
            return None
        self.state = wanted
        self._last_signal_bar = self.bars
        return Crossover(
            "up" if wanted == "above" else "down",
            rs,
            sma,
            (rs / sma - 1.0) * 100.0,
            self.bars - self.sma_bars,
            since,
        )
