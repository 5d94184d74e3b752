"""Relative strength of a pair, bar by bar, with a crossover rule that does not flap.

Formulas (docs/analytics.md, "Relative strength"; Weinstein's Mansfield RS uses the
same ratio-vs-average form):

    R_t            = P_num,t / P_den,t                   price relative
    SMA_n(R)_t     = (1/n) * sum_{i=0..n-1} R_{t-i}
    rs_vs_sma_pct  = (R_t / SMA_n(R)_t - 1) * 100
    rs_change_pct  = (R_t / R_{t-m} - 1) * 100
    log_return     = rho_1,t = ln(R_t / R_{t-1})        log relative return
    zscore         = (rho_1,t - mean_N(rho_1)) / sd_N(rho_1)
    streak         = consecutive bars with r_num > r_den, i.e. rho_1 > 0

The z-score window holds the last N = ``zscore_bars`` log returns, the current one
included, with the sample standard deviation (ddof = 1, as pandas ``rolling().std()``);
it is None until N returns exist (N + 1 bars) and when sd = 0. The streak is 0 on
the first bar and on any bar with rho_1 <= 0 (a tie breaks the streak).

The line's state above or below its SMA, with hysteresis, and its crossovers come
from :class:`agents.analytics.rules.rs_crossover.CrossoverDetector` (the rule's
module states them).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from agents.analytics.indicators import RollingStats, Sma
from agents.analytics.rules.rs_crossover import Crossover, CrossoverDetector, State

__all__ = ["Crossover", "RSPoint", "RelativeStrength", "State"]


@dataclass(frozen=True)
class RSPoint:
    """The pair's figures at one bar (None: not enough bars yet)."""

    rs: float
    sma: float | None
    vs_sma_pct: float | None
    change_pct: float | None
    state: State | None
    log_return: float | None = None
    zscore: float | None = None
    streak: int = 0


class RelativeStrength:
    """RS line of one pair with its SMA, change, log-return z-score, streak and crossovers."""

    def __init__(
        self,
        sma_bars: int,
        change_bars: int,
        hysteresis_pct: float = 0.0,
        cooldown_bars: int = 0,
        *,
        zscore_bars: int = 20,
    ) -> None:
        if sma_bars < 1 or change_bars < 1:
            raise ValueError("sma_bars and change_bars must be >= 1")
        if zscore_bars < 2:
            raise ValueError(f"zscore_bars must be >= 2 (a sample sd), got {zscore_bars}")
        self.sma_bars = sma_bars
        self.change_bars = change_bars
        self.hysteresis_pct = hysteresis_pct
        self.cooldown_bars = cooldown_bars
        self.zscore_bars = zscore_bars
        self._sma = Sma(sma_bars)
        # change_bars >= 1, so the previous R (for rho_1) is always history[-1].
        self._history: deque[float] = deque(maxlen=change_bars + 1)
        self._log_returns = RollingStats(zscore_bars)
        self._crossover = CrossoverDetector(sma_bars, hysteresis_pct, cooldown_bars)
        self.streak = 0
        self.bars = 0

    @property
    def state(self) -> State | None:
        """R above or below its SMA, with hysteresis (None before the first state)."""
        return self._crossover.state

    def update(self, numerator: float, denominator: float) -> tuple[RSPoint, Crossover | None]:
        """Add one bar's prices of both legs; return the point and a crossover, if any."""
        if not (numerator > 0 and denominator > 0 and math.isfinite(numerator / denominator)):
            raise ValueError(f"prices must be > 0 and finite, got {numerator} / {denominator}")
        rs = numerator / denominator
        log_return = math.log(rs / self._history[-1]) if self._history else None
        zscore = None if log_return is None else self._log_returns.zscore(log_return)
        self.streak = self.streak + 1 if log_return is not None and log_return > 0 else 0
        sma = self._sma.update(rs)
        self._history.append(rs)
        self.bars += 1

        change = None
        if len(self._history) == self.change_bars + 1:
            change = (rs / self._history[0] - 1.0) * 100.0
        vs_sma = None if sma is None else (rs / sma - 1.0) * 100.0
        crossover = None if sma is None else self._crossover.update(self.bars, rs, sma)
        point = RSPoint(rs, sma, vs_sma, change, self.state, log_return, zscore, self.streak)
        return point, crossover

    def to_state(self) -> dict[str, Any]:
        """Plain JSON-able data, parameters included, from which :meth:`from_state`
        continues identically."""
        return {
            "sma_bars": self.sma_bars,
            "change_bars": self.change_bars,
            "hysteresis_pct": self.hysteresis_pct,
            "cooldown_bars": self.cooldown_bars,
            "zscore_bars": self.zscore_bars,
            "sma": self._sma.to_state(),
            "history": list(self._history),
            "log_returns": self._log_returns.to_state(),
            "state": self.state,
            "streak": self.streak,
            "bars": self.bars,
            "last_signal_bar": self._crossover.last_signal_bar,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RelativeStrength:
        """The tracker saved by :meth:`to_state`."""
        rs = cls(
            int(state["sma_bars"]),
            int(state["change_bars"]),
            float(state["hysteresis_pct"]),
            int(state["cooldown_bars"]),
            zscore_bars=int(state["zscore_bars"]),
        )
        rs._sma.restore([float(x) for x in state["sma"]])
        rs._history.extend(float(x) for x in state["history"])
        rs._log_returns.restore([float(x) for x in state["log_returns"]])
        rs._crossover.state = state["state"]
        rs.streak = int(state["streak"])
        rs.bars = int(state["bars"])
        last = state["last_signal_bar"]
        rs._crossover.last_signal_bar = None if last is None else int(last)
        return rs
