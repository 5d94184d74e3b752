"""The RS breakout rule (``rs_breakout``, directions up and down) and its parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.analytics.rules.base import Cooldown, Fired, PairInputs, SignalRule, Subject
from agents.analytics.rules.scores import scaled

if TYPE_CHECKING:
    from agents.analytics.universe import Universe


@dataclass(frozen=True)
class BreakoutParams:
    """``[signals] breakout_*``; ``window_bars`` is the z-score window of the RS tracker
    (``[relative_strength] zscore_bars``)."""

    z_threshold: float = 3.0
    rearm: float = 1.0
    cooldown_bars: int = 10
    window_bars: int = 20


class RsBreakout(SignalRule[PairInputs]):
    """RS z-score shock (docs/analytics.md, "Relative strength": |z| >= 3 is a shock).

    z_t = (rho_1,t - mean_N(rho_1)) / sd_N(rho_1), computed by the RS tracker. Fires
    "up" when z >= z_threshold and "down" when z <= -z_threshold. After any bar
    with |z| >= z_threshold (fired or dropped in the cooldown) the rule is disarmed
    and re-arms only once |z| < rearm: one shock episode, one signal. Strength = |z|;
    score = 50 at z_threshold.
    """

    kind = "rs_breakout"
    scope = "pair"
    emit_order = 2
    feed_order = 1

    def __init__(
        self,
        subject: str,
        z_threshold: float = 3.0,
        rearm: float = 1.0,
        cooldown_bars: int = 10,
        *,
        window_bars: int = 20,
    ) -> None:
        if not 0 <= rearm < z_threshold:
            raise ValueError(f"need 0 <= rearm < z_threshold, got {rearm} and {z_threshold}")
        self.subject = subject
        self.z_threshold = z_threshold
        self.rearm = rearm
        self.cooldown = Cooldown(cooldown_bars)
        self._window_bars = window_bars
        self.reset()

    @classmethod
    def from_params(cls, subject: str, params: BreakoutParams) -> RsBreakout:
        return cls(
            subject,
            params.z_threshold,
            params.rearm,
            params.cooldown_bars,
            window_bars=params.window_bars,
        )

    @classmethod
    def configure(cls, subject: Subject, universe: Universe) -> RsBreakout | None:
        if subject.pair is None:
            return None
        s = universe.signals
        params = BreakoutParams(
            s.breakout_z,
            s.breakout_rearm,
            s.breakout_cooldown_bars,
            universe.relative_strength.zscore_bars,
        )
        return cls.from_params(subject.label, params)

    @property
    def window_bars(self) -> int:
        return self._window_bars

    @property
    def initialized(self) -> bool:
        return self._seen_zscore

    def reset(self) -> None:
        self.cooldown.reset()
        self.armed = True
        self._seen_zscore = False

    def on_interval(self, inputs: PairInputs) -> Fired | None:
        return self.update(inputs.point.zscore, inputs.point.log_return)

    def update(self, zscore: float | None, log_return: float | None = None) -> Fired | None:
        """One bar's RS z-score (None while it warms up) and, for evidence, its rho_1."""
        self.cooldown.tick()
        if zscore is None:
            return None
        self._seen_zscore = True
        if abs(zscore) < self.rearm:
            self.armed = True
        if abs(zscore) < self.z_threshold:
            return None
        fire = self.armed and self.cooldown.ready
        self.armed = False
        if not fire:
            return None
        direction = "up" if zscore > 0 else "down"
        since = self.cooldown.fire()
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=direction,
            score=scaled(abs(zscore), self.z_threshold),
            evidence={
                "strength": abs(zscore),
                "zscore": zscore,
                "log_return_pp": None if log_return is None else 100.0 * log_return,
                "z_threshold": self.z_threshold,
                "rearm": self.rearm,
                "bars_since_previous": since,
            },
            summary=(
                f"{self.subject}: relative strength {'jumped' if direction == 'up' else 'fell'} "
                f"{abs(zscore):.1f} standard deviations in one bar"
            ),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "z_threshold": self.z_threshold,
            "rearm": self.rearm,
            "cooldown_bars": self.cooldown.bars,
            "window_bars": self._window_bars,
            "elapsed": self.cooldown.elapsed,
            "armed": self.armed,
            "seen_zscore": self._seen_zscore,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RsBreakout:
        rule = cls(
            state["subject"],
            float(state["z_threshold"]),
            float(state["rearm"]),
            int(state["cooldown_bars"]),
            window_bars=int(state["window_bars"]),
        )
        rule.cooldown.elapsed = state["elapsed"]
        rule.armed = bool(state["armed"])
        rule._seen_zscore = bool(state["seen_zscore"])
        return rule
