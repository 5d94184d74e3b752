"""Relative Rotation Graph: RS-Ratio and RS-Momentum of an asset against a benchmark.

The open EMA-ratio form of docs/analytics.md, "Relative Rotation Graph" (RRG Research's
own formulas are proprietary and "RRG" is their trademark). O(1) per bar, no
look-ahead, and invariant to rescaling either price series:

    R_t   = P_t / B_t                          price relative
    S_t   = EMA_m(R)_t                         alpha = 2 / (m + 1), seeded with R_0
    RSR_t = 100 * S_t / SMA_m(S)_t             RS-Ratio, 100 = flat relative trend
    Q_t   = (RSR_t - RSR_{t-k}) / RSR_{t-k}    k-bar rate of change of RS-Ratio
    RSM_t = 100 + 100 * EMA_m(Q)_t             RS-Momentum, EMA seeded with the first Q

RSR exists from bar m (1-based), Q and RSM from bar m + k; before that
:meth:`RelativeRotation.update` returns None. Each EMA needs about m bars to forget
its seed, so a point is ``provisional`` until m + max(m, k) + m bars have been seen
(42 for m = 14, k = 10); the bar that completes that count is the first final one.

Quadrants, clockwise (the path of a rotation), with a value of exactly 100 counted
as "at or above" on both axes:

    leading    RSR >= 100, RSM >= 100
    weakening  RSR >= 100, RSM <  100
    lagging    RSR <  100, RSM <  100
    improving  RSR <  100, RSM >= 100

The tail holds the last ``tail`` points of committed bars (every :meth:`update`),
provisional ones included with their flag; :meth:`preview` shows the head of a
forming bar without committing it, as StockCharts does.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

from agents.analytics.indicators import Ema, Sma

Quadrant = Literal["leading", "weakening", "lagging", "improving"]
QUADRANTS: tuple[Quadrant, ...] = ("leading", "weakening", "lagging", "improving")
"""The quadrants in clockwise order, the order a full rotation visits them."""

CENTRE = 100.0
"""RS-Ratio and RS-Momentum of an asset that moves exactly with its benchmark."""


def quadrant_of(rs_ratio: float, rs_momentum: float) -> Quadrant:
    """The quadrant of a point; exactly 100 on an axis counts as at or above it."""
    if rs_ratio >= CENTRE:
        return "leading" if rs_momentum >= CENTRE else "weakening"
    return "improving" if rs_momentum >= CENTRE else "lagging"


@dataclass(frozen=True)
class RRGParams:
    """Smoothing ``m``, momentum lookback ``k`` and tail length, in bars.

    docs/analytics.md ranges: daily bars m = 10-14, k = 5-10, tail 5-10; intraday on
    30/60-minute bars m = 10-14, k = 5, tail 6-13. Defaults: m = 14, k = 10, tail = 8.
    """

    m: int = 14
    k: int = 10
    tail: int = 8

    def __post_init__(self) -> None:
        for name in ("m", "k", "tail"):
            if getattr(self, name) < 1:
                raise ValueError(f"RRG {name} must be >= 1, got {getattr(self, name)}")

    @property
    def warmup_bars(self) -> int:
        """Bars until a point is final: m + max(m, k) + m (docs/analytics.md)."""
        return self.m + max(self.m, self.k) + self.m


@dataclass(frozen=True)
class RRGPoint:
    """One point of the graph: where the asset stands against its benchmark."""

    rs_ratio: float
    rs_momentum: float
    quadrant: Quadrant
    provisional: bool

    @property
    def distance(self) -> float:
        """Euclidean distance from the centre (100, 100): how strong the rotation is."""
        return math.hypot(self.rs_ratio - CENTRE, self.rs_momentum - CENTRE)


class RelativeRotation:
    """RS-Ratio and RS-Momentum of one asset against one benchmark, bar by bar."""

    def __init__(self, params: RRGParams | None = None) -> None:
        self.params = params or RRGParams()
        m, k = self.params.m, self.params.k
        self._smoothed_rs = Ema.span(m)
        self._smoothed_rs_sma = Sma(m)
        self._rs_ratios: deque[float] = deque(maxlen=k + 1)
        self._momentum = Ema.span(m)
        self._tail: deque[RRGPoint] = deque(maxlen=self.params.tail)
        self.bars = 0

    @property
    def tail(self) -> tuple[RRGPoint, ...]:
        """The last ``tail`` committed points, oldest first."""
        return tuple(self._tail)

    def update(self, price: float, benchmark: float) -> RRGPoint | None:
        """Commit one bar's closes; the point, or None until RS-Ratio and RS-Momentum exist."""
        if not (price > 0 and benchmark > 0 and math.isfinite(price / benchmark)):
            raise ValueError(f"prices must be > 0 and finite, got {price} / {benchmark}")
        self.bars += 1
        smoothed = self._smoothed_rs.update(price / benchmark)
        average = self._smoothed_rs_sma.update(smoothed)
        if average is None:
            return None
        rs_ratio = CENTRE * smoothed / average
        self._rs_ratios.append(rs_ratio)
        if len(self._rs_ratios) <= self.params.k:
            return None
        earlier = self._rs_ratios[0]
        rs_momentum = CENTRE + CENTRE * self._momentum.update((rs_ratio - earlier) / earlier)
        point = RRGPoint(
            rs_ratio,
            rs_momentum,
            quadrant_of(rs_ratio, rs_momentum),
            provisional=self.bars < self.params.warmup_bars,
        )
        self._tail.append(point)
        return point

    def preview(self, price: float, benchmark: float) -> RRGPoint | None:
        """The point a forming bar would give if it closed here; nothing is committed."""
        return RelativeRotation.from_state(self.to_state()).update(price, benchmark)

    def to_state(self) -> dict[str, Any]:
        """Plain JSON-able data, parameters included, from which :meth:`from_state`
        continues identically."""
        return {
            "params": asdict(self.params),
            "bars": self.bars,
            "smoothed_rs": self._smoothed_rs.to_state(),
            "smoothed_rs_sma": self._smoothed_rs_sma.to_state(),
            "rs_ratios": list(self._rs_ratios),
            "momentum": self._momentum.to_state(),
            "tail": [asdict(point) for point in self._tail],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RelativeRotation:
        """The graph saved by :meth:`to_state`."""
        rotation = cls(RRGParams(**state["params"]))
        rotation.bars = int(state["bars"])
        smoothed = state["smoothed_rs"]
        rotation._smoothed_rs.restore(None if smoothed is None else float(smoothed))
        rotation._smoothed_rs_sma.restore([float(x) for x in state["smoothed_rs_sma"]])
        rotation._rs_ratios.extend(float(x) for x in state["rs_ratios"])
        momentum = state["momentum"]
        rotation._momentum.restore(None if momentum is None else float(momentum))
        rotation._tail.extend(RRGPoint(**point) for point in state["tail"])
        return rotation
