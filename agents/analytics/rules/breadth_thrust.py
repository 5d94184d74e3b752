"""The breadth thrust rule (``breadth_thrust``, direction up) and its parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.analytics.indicators import settled_after
from agents.analytics.rules.base import Cooldown, Fired, GroupInputs, SignalRule, Subject
from agents.analytics.rules.scores import scaled

if TYPE_CHECKING:
    from agents.analytics.universe import Universe


@dataclass(frozen=True)
class ThrustParams:
    """``[signals] thrust_cooldown_bars``; ``window_bars`` is the longest of the Zweig
    window, the EMA span (``[breadth] zweig_window``, ``zweig_span``) and the bars until
    the EMA's seed weighs under 5% (15 for span 10): the bars a thrust looks back over,
    and the rule's warm-up; ``zweig_high`` scores 50."""

    cooldown_bars: int = 20
    window_bars: int = 10
    zweig_high: float = 0.615


class BreadthThrust(SignalRule[GroupInputs]):
    """Zweig breadth thrust (docs/analytics.md, "Breadth": ZBT_t = EMA10(A / (A + D)) above
        0.615 with a reading under 0.40 in the previous 10 bars), as decided by the breadth
        module and passed in as ``zweig_thrust``.

        Fires "up" on the first bar of a thrust; a thrust that lasts several bars is one
        signal, and a new one needs a bar without thrust first and the cooldown passed.
        Strength = ZBT_t (the share of advancers, smoothed; 0 if not supplied); score = 50
    at ``zweig_high``, the thrust's own threshold.
    """

    kind = "breadth_thrust"
    scope = "group"
    emit_order = 1
    feed_order = 3

    def __init__(
        self,
        subject: str,
        cooldown_bars: int = 20,
        *,
        window_bars: int = 10,
        zweig_high: float = 0.615,
    ) -> None:
        self.subject = subject
        self.zweig_high = zweig_high
        self.cooldown = Cooldown(cooldown_bars)
        self._window_bars = window_bars
        self.reset()

    @classmethod
    def from_params(cls, subject: str, params: ThrustParams) -> BreadthThrust:
        return cls(
            subject,
            params.cooldown_bars,
            window_bars=params.window_bars,
            zweig_high=params.zweig_high,
        )

    @classmethod
    def configure(cls, subject: Subject, universe: Universe) -> BreadthThrust | None:
        if subject.pair is not None:
            return None
        b = universe.breadth
        # Until the EMA's seed weighs under 5% the smoothed share is provisional
        # (agents.analytics.indicators.settled_after), and so is a thrust on it.
        settled = settled_after(2.0 / (b.zweig_span + 1))
        params = ThrustParams(
            universe.signals.thrust_cooldown_bars,
            max(b.zweig_window, b.zweig_span, settled),
            b.zweig_high,
        )
        return cls.from_params(subject.label, params)

    @property
    def window_bars(self) -> int:
        return self._window_bars

    @property
    def initialized(self) -> bool:
        return self._bars >= self._window_bars

    def reset(self) -> None:
        self.cooldown.reset()
        self.armed = True
        self._bars = 0

    def on_interval(self, inputs: GroupInputs) -> Fired | None:
        return self.update(inputs.metrics.zweig_thrust, inputs.metrics.zweig_ema)

    def update(self, zweig_thrust: bool, zweig_ema: float | None) -> Fired | None:
        """One bar's thrust flag and ZBT level."""
        self._bars += 1
        self.cooldown.tick()
        if not zweig_thrust:
            self.armed = True
            return None
        fire = self.armed and self.cooldown.ready and self.initialized
        self.armed = False
        if not fire:
            return None
        since = self.cooldown.fire()
        level = "n/a" if zweig_ema is None else f"{zweig_ema:.3f}"
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction="up",
            score=0.0 if zweig_ema is None else scaled(zweig_ema, self.zweig_high),
            evidence={
                "strength": zweig_ema,
                "zweig_ema": zweig_ema,
                "bars_since_previous": since,
            },
            summary=f"{self.subject}: Zweig breadth thrust, smoothed advancing share {level}",
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "cooldown_bars": self.cooldown.bars,
            "window_bars": self._window_bars,
            "zweig_high": self.zweig_high,
            "elapsed": self.cooldown.elapsed,
            "armed": self.armed,
            "bars": self._bars,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BreadthThrust:
        rule = cls(
            state["subject"],
            int(state["cooldown_bars"]),
            window_bars=int(state["window_bars"]),
            zweig_high=float(state.get("zweig_high", 0.615)),
        )
        rule.cooldown.elapsed = state["elapsed"]
        rule.armed = bool(state["armed"])
        rule._bars = int(state["bars"])
        return rule
