"""The breadth divergence rule (``breadth_divergence``, directions up (bullish) and down
(bearish)) and its parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.analytics.indicators import RollingExtremes
from agents.analytics.rules.base import Cooldown, Fired, GroupInputs, SignalRule, Subject
from agents.analytics.rules.scores import scaled

if TYPE_CHECKING:
    from agents.analytics.universe import Universe

REFERENCE_SHORTFALL = 0.5
"""The A/D line's shortfall (share of its range) that scores 50."""


@dataclass(frozen=True)
class DivergenceParams:
    """``[signals] divergence_lookback_bars`` (also the signal's window) and
    ``divergence_cooldown_bars``."""

    lookback_bars: int = 20
    cooldown_bars: int = 20


class BreadthDivergence(SignalRule[GroupInputs]):
    """Index and advance/decline line disagree at a lookback extreme.

    With H, L the highest and lowest of the previous N bars (the current bar
    excluded; silent until N bars were seen):

        bearish "down":  index_t > H(index)  and  ADL_t <= H(ADL)
        bullish "up":    index_t < L(index)  and  ADL_t >= L(ADL)

    Score: the A/D line's shortfall as a fraction of its lookback range, so the
    arbitrary level of the A/D line does not matter: (H(ADL) - ADL_t) / (H - L)(ADL)
    when bearish, (ADL_t - L(ADL)) / (H - L)(ADL) when bullish; 0 for a flat A/D line.
    0 means the A/D line is just short of confirming, 1 that it sits at the opposite
    end of its range, above 1 that it broke out the other way. That is the strength;
    score = 50 at a shortfall of half the range (:data:`REFERENCE_SHORTFALL`).
    """

    kind = "breadth_divergence"
    scope = "group"
    emit_order = 1
    feed_order = 4

    def __init__(self, subject: str, lookback_bars: int = 20, cooldown_bars: int = 20) -> None:
        if lookback_bars < 1:
            raise ValueError(f"lookback_bars must be >= 1, got {lookback_bars}")
        self.subject = subject
        self.lookback_bars = lookback_bars
        self.cooldown = Cooldown(cooldown_bars)
        self._index = RollingExtremes(lookback_bars)
        self._ad_line = RollingExtremes(lookback_bars)

    @classmethod
    def from_params(cls, subject: str, params: DivergenceParams) -> BreadthDivergence:
        return cls(subject, params.lookback_bars, params.cooldown_bars)

    @classmethod
    def configure(cls, subject: Subject, universe: Universe) -> BreadthDivergence | None:
        if subject.pair is not None:
            return None
        s = universe.signals
        params = DivergenceParams(s.divergence_lookback_bars, s.divergence_cooldown_bars)
        return cls.from_params(subject.label, params)

    @property
    def window_bars(self) -> int:
        return self.lookback_bars

    @property
    def initialized(self) -> bool:
        return self._index.initialized

    def reset(self) -> None:
        self.cooldown.reset()
        self._index.reset()
        self._ad_line.reset()

    def on_interval(self, inputs: GroupInputs) -> Fired | None:
        metrics = inputs.metrics
        if metrics.equal_weight_index is None:
            return None
        return self.update(metrics.equal_weight_index, metrics.ad_line)

    def update(self, index_level: float, ad_line: float) -> Fired | None:
        """One bar's group index level and its A/D line."""
        self.cooldown.tick()
        prior = self._prior_extremes()
        self._index.update(index_level)
        self._ad_line.update(ad_line)
        if prior is None or not self.cooldown.ready:
            return None
        index_high, index_low, ad_high, ad_low = prior
        ad_range = ad_high - ad_low
        if index_level > index_high and ad_line <= ad_high:
            direction, shortfall, extreme = "down", ad_high - ad_line, "high"
        elif index_level < index_low and ad_line >= ad_low:
            direction, shortfall, extreme = "up", ad_line - ad_low, "low"
        else:
            return None
        since = self.cooldown.fire()
        strength = shortfall / ad_range if ad_range > 0 else 0.0
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=direction,
            score=scaled(strength, REFERENCE_SHORTFALL),
            evidence={
                "strength": strength,
                "index_level": index_level,
                "index_prior_high": index_high,
                "index_prior_low": index_low,
                "ad_line": ad_line,
                "ad_prior_high": ad_high,
                "ad_prior_low": ad_low,
                "lookback_bars": float(self.lookback_bars),
                "bars_since_previous": since,
            },
            summary=(
                f"{self.subject}: {'bearish' if direction == 'down' else 'bullish'} breadth "
                f"divergence, the index made a new {self.lookback_bars}-bar {extreme} "
                f"but the advance/decline line did not"
            ),
        )

    def _prior_extremes(self) -> tuple[float, float, float, float] | None:
        """Highs and lows of index and A/D line over the previous N bars; None until N."""
        if len(self._index.window) < self.lookback_bars:
            return None
        (index_high, index_low), (ad_high, ad_low) = (
            self._index.previous(),
            self._ad_line.previous(),
        )
        if index_high is None or index_low is None or ad_high is None or ad_low is None:
            return None
        return index_high, index_low, ad_high, ad_low

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "lookback_bars": self.lookback_bars,
            "cooldown_bars": self.cooldown.bars,
            "elapsed": self.cooldown.elapsed,
            "index": self._index.to_state(),
            "ad_line": self._ad_line.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BreadthDivergence:
        rule = cls(state["subject"], int(state["lookback_bars"]), int(state["cooldown_bars"]))
        rule.cooldown.elapsed = state["elapsed"]
        rule._index.restore([float(x) for x in state["index"]])
        rule._ad_line.restore([float(x) for x in state["ad_line"]])
        return rule
