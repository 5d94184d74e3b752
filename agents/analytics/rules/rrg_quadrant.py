"""The RRG quadrant change rule (``rrg_quadrant``, directions up and down) and its
parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.analytics.rrg import CENTRE, quadrant_of
from agents.analytics.rules.base import Fired, PairInputs, SignalRule, Subject
from agents.analytics.rules.scores import scaled

if TYPE_CHECKING:
    from agents.analytics.universe import Universe


@dataclass(frozen=True)
class QuadrantParams:
    """``[signals] quadrant_dwell_bars``; ``symbol_pairs``: also for the symbol vs
    benchmark pairs (``[signals] symbol_quadrant_signals``); ``window_bars`` is the
    RS-Ratio length (``[rrg] m``); ``score_distance`` (``[signals]
    quadrant_score_distance``) the distance from the centre that scores 50."""

    min_dwell_bars: int = 2
    symbol_pairs: bool = False
    window_bars: int = 14
    score_distance: float = 2.0


class RrgQuadrantChange(SignalRule[PairInputs]):
    """A subject's RRG point settled in a new quadrant (docs/analytics.md, "Relative Rotation
    Graph"; quadrant and tie rule of :func:`agents.analytics.rrg.quadrant_of`).

    Only final (non-provisional) points count. A quadrant is settled once it has held
    for ``min_dwell_bars`` consecutive points, so a one-bar flicker across an axis is
    not a signal; the first settled quadrant is taken silently. Direction "up" into
    leading or improving (RS-Momentum >= 100), "down" into weakening or lagging.
    Strength = distance of the point from the centre: sqrt((RSR - 100)^2 + (RSM - 100)^2);
    score = 50 at ``score_distance`` (a point that only grazes an axis scores low).
    """

    kind = "rrg_quadrant"
    scope = "pair"
    emit_order = 2
    feed_order = 2

    def __init__(
        self,
        subject: str,
        min_dwell_bars: int = 2,
        *,
        window_bars: int = 14,
        score_distance: float = 2.0,
    ) -> None:
        if min_dwell_bars < 1:
            raise ValueError(f"min_dwell_bars must be >= 1, got {min_dwell_bars}")
        self.subject = subject
        self.min_dwell_bars = min_dwell_bars
        self._window_bars = window_bars
        self.score_distance = score_distance
        self.reset()

    @classmethod
    def from_params(cls, subject: str, params: QuadrantParams) -> RrgQuadrantChange:
        return cls(
            subject,
            params.min_dwell_bars,
            window_bars=params.window_bars,
            score_distance=params.score_distance,
        )

    @classmethod
    def configure(cls, subject: Subject, universe: Universe) -> RrgQuadrantChange | None:
        params = QuadrantParams(
            universe.signals.quadrant_dwell_bars,
            universe.signals.symbol_quadrant_signals,
            universe.rrg.m,
            universe.signals.quadrant_score_distance,
        )
        pair = subject.pair
        if pair is None or (pair.origin == "symbol_vs_benchmark" and not params.symbol_pairs):
            return None
        return cls.from_params(subject.label, params)

    @property
    def window_bars(self) -> int:
        return self._window_bars

    @property
    def initialized(self) -> bool:
        return self.quadrant is not None

    def reset(self) -> None:
        self.quadrant: str | None = None
        self._candidate: str | None = None
        self._dwell = 0

    def on_interval(self, inputs: PairInputs) -> Fired | None:
        rrg = inputs.rrg
        if rrg is None:
            return None
        return self.update(rrg.rs_ratio, rrg.rs_momentum, rrg.provisional)

    def update(
        self, rs_ratio: float | None, rs_momentum: float | None, provisional: bool = False
    ) -> Fired | None:
        """One bar's RRG point (None, None while the graph has no point yet)."""
        if rs_ratio is None or rs_momentum is None or provisional:
            return None
        quadrant = quadrant_of(rs_ratio, rs_momentum)
        if quadrant == self._candidate:
            self._dwell += 1
        else:
            self._candidate, self._dwell = quadrant, 1
        if self._dwell < self.min_dwell_bars or quadrant == self.quadrant:
            return None
        previous, self.quadrant = self.quadrant, quadrant
        if previous is None:
            return None
        direction = "up" if quadrant in ("leading", "improving") else "down"
        distance = math.hypot(rs_ratio - CENTRE, rs_momentum - CENTRE)
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=direction,
            score=scaled(distance, self.score_distance),
            evidence={
                "strength": distance,
                "from_quadrant": previous,
                "to_quadrant": quadrant,
                "rs_ratio": rs_ratio,
                "rs_momentum": rs_momentum,
                "dwell_bars": float(self._dwell),
            },
            summary=(
                f"{self.subject}: RRG point moved from {previous} to {quadrant} "
                f"(RS-Ratio {rs_ratio:.2f}, RS-Momentum {rs_momentum:.2f})"
            ),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "min_dwell_bars": self.min_dwell_bars,
            "window_bars": self._window_bars,
            "score_distance": self.score_distance,
            "quadrant": self.quadrant,
            "candidate": self._candidate,
            "dwell": self._dwell,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RrgQuadrantChange:
        rule = cls(
            state["subject"],
            int(state["min_dwell_bars"]),
            window_bars=int(state["window_bars"]),
            score_distance=float(state.get("score_distance", 2.0)),
        )
        rule.quadrant = state["quadrant"]
        rule._candidate = state["candidate"]
        rule._dwell = int(state["dwell"])
        return rule
