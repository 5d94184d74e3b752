"""The RS crossover rule (``rs_crossover``, directions up and down), its parameters and
the crossover detector of the RS line.

Crossover with hysteresis (docs/analytics.md, "Relative strength"; Weinstein's Mansfield
RS line against its average): the state turns *above* only when R_t > SMA (1 + h/100)
and *below* only when R_t < SMA (1 - h/100); inside the band the state holds, so
noise around the average does not flap. The first state after warm-up is taken
silently; each later flip is a signal, unless fewer than ``cooldown`` bars have
passed since the previous signal, in which case the flip waits (it is delayed, never
dropped: it fires on the first bar after the cooldown where the condition holds).

The RS line (:class:`agents.analytics.relative_strength.RelativeStrength`) runs the
:class:`CrossoverDetector`, since its state is also the published ``above_sma``
metric; the rule turns each crossover into a verdict with the leader and the lagger
of the pair. Strength = |R / SMA - 1| * 100; score = 50 at twice the hysteresis band
(:mod:`agents.analytics.rules.scores`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agents.analytics.rules.base import Fired, PairInputs, SignalRule, Subject
from agents.analytics.rules.scores import scaled

if TYPE_CHECKING:
    from agents.analytics.universe import Universe

State = Literal["above", "below"]


@dataclass(frozen=True)
class Crossover:
    """R crossed its moving average (beyond the hysteresis band)."""

    direction: Literal["up", "down"]
    rs: float
    sma: float
    vs_sma_pct: float
    window_start_index: int
    bars_since_previous: int | None


class CrossoverDetector:
    """The state of R against its SMA, with hysteresis and cooldown, and its flips."""

    def __init__(self, sma_bars: int, hysteresis_pct: float = 0.0, cooldown_bars: int = 0) -> None:
        self.sma_bars = sma_bars
        self.band = hysteresis_pct / 100.0
        self.cooldown_bars = cooldown_bars
        self.reset()

    def reset(self) -> None:
        self.state: State | None = None
        self.last_signal_bar: int | None = None

    def update(self, bar: int, rs: float, sma: float) -> Crossover | None:
        """R and its SMA at bar number ``bar`` (counted from 1); a crossover, if any."""
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
        since = None if self.last_signal_bar is None else bar - self.last_signal_bar
        if since is not None and since < self.cooldown_bars:
            return None
        self.state = wanted
        self.last_signal_bar = bar
        return Crossover(
            "up" if wanted == "above" else "down",
            rs,
            sma,
            (rs / sma - 1.0) * 100.0,
            bar - self.sma_bars,
            since,
        )


@dataclass(frozen=True)
class CrossoverParams:
    """``[relative_strength] sma_bars`` (the average crossed, also the signal's window)
    and ``hysteresis_pct`` (the band, reported as evidence)."""

    sma_bars: int
    hysteresis_pct: float = 0.0


class RsCrossover(SignalRule[PairInputs]):
    """R crossed its SMA by more than the hysteresis band: "up" when the numerator
    takes the lead, "down" when the denominator does."""

    kind = "rs_crossover"
    scope = "pair"
    emit_order = 0
    feed_order = 0

    def __init__(
        self, subject: str, params: CrossoverParams, name: str, numerator: str, denominator: str
    ) -> None:
        self.subject = subject
        self.params = params
        self.name = name
        self.numerator = numerator
        self.denominator = denominator
        self.reset()

    @classmethod
    def configure(cls, subject: Subject, universe: Universe) -> RsCrossover | None:
        pair = subject.pair
        if pair is None:
            return None
        rs = universe.relative_strength
        params = CrossoverParams(rs.sma_bars, rs.hysteresis_pct)
        return cls(subject.label, params, pair.name, pair.numerator, pair.denominator)

    @property
    def window_bars(self) -> int:
        return self.params.sma_bars

    @property
    def initialized(self) -> bool:
        return self._state_known

    def reset(self) -> None:
        self._state_known = False

    def on_interval(self, inputs: PairInputs) -> Fired | None:
        if inputs.point.state is not None:
            self._state_known = True
        return None if inputs.crossover is None else self.update(inputs.crossover)

    def update(self, cross: Crossover) -> Fired:
        """The verdict on one crossover of the RS line."""
        window = self.params.sma_bars
        num, den = self.numerator, self.denominator
        leader, lagger = (num, den) if cross.direction == "up" else (den, num)
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=cross.direction,
            score=scaled(abs(cross.vs_sma_pct), 2.0 * self.params.hysteresis_pct),
            evidence={
                "strength": abs(cross.vs_sma_pct),
                "rs": cross.rs,
                "rs_sma": cross.sma,
                "rs_vs_sma_pct": cross.vs_sma_pct,
                "sma_bars": float(window),
                "hysteresis_pct": self.params.hysteresis_pct,
                "bars_since_previous": (
                    None if cross.bars_since_previous is None else float(cross.bars_since_previous)
                ),
                "leader": leader,
                "lagger": lagger,
            },
            summary=(
                f"{self.name}: RS crossed {'above' if cross.direction == 'up' else 'below'} "
                f"its {window}-bar average by {cross.vs_sma_pct:+.2f}%: {leader} leading {lagger}"
            ),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "sma_bars": self.params.sma_bars,
            "hysteresis_pct": self.params.hysteresis_pct,
            "name": self.name,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "state_known": self._state_known,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RsCrossover:
        params = CrossoverParams(int(state["sma_bars"]), float(state["hysteresis_pct"]))
        rule = cls(
            state["subject"], params, state["name"], state["numerator"], state["denominator"]
        )
        rule._state_known = bool(state["state_known"])
        return rule
