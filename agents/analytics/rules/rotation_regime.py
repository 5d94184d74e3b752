"""The graded rotation regime rule (``rotation_regime``, directions into_small_caps,
into_mega_caps, broadening and narrowing) and its parameters."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from agents.analytics.indicators import Sma
from agents.analytics.rrg import QUADRANTS
from agents.analytics.rules.base import (
    Evidence,
    Fired,
    PairInputs,
    SignalRule,
    Subject,
    flag,
)
from agents.analytics.rules.scores import scaled

if TYPE_CHECKING:
    from agents.analytics.universe import Universe

Side = Literal["into_small_caps", "into_mega_caps"]
Grade = Literal["watch", "rotation", "broad_rotation"]
_SIDES: tuple[Side, Side] = ("into_small_caps", "into_mega_caps")
_RANK: dict[str | None, int] = {None: 0, "watch": 1, "rotation": 2, "broad_rotation": 3}
_SIDE_QUADRANTS: dict[Side, tuple[str, ...]] = {
    # A rotation into the numerator moves its RRG point improving -> leading; the
    # mirror image, into the denominator, moves it weakening -> lagging.
    "into_small_caps": ("improving", "leading"),
    "into_mega_caps": ("weakening", "lagging"),
}


@dataclass(frozen=True)
class RegimeParams:
    """Thresholds of the graded rotation detector; defaults from docs/analytics.md,
    "What counts as a rotation" (returns in percentage points of log relative return).

    ``sma_rising_bars`` is our choice where docs/analytics.md only says "rising":
    SMA_t > SMA_{t - sma_rising_bars}.
    """

    shock_z: float = 3.0
    shock_return_pp: float = 2.0
    shock_return_bars: int = 2
    sma_bars: int = 50
    sma_rising_bars: int = 1
    short_bars: int = 5
    short_return_pp: float = 5.0
    long_bars: int = 21
    long_return_pp: float = 8.0
    streak_bars: int = 7
    exit_bars: int = 3
    repeat_bars: int = 21

    def __post_init__(self) -> None:
        for name in (
            "shock_return_bars",
            "sma_bars",
            "sma_rising_bars",
            "short_bars",
            "long_bars",
            "streak_bars",
            "exit_bars",
            "repeat_bars",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class RotationRegime(SignalRule[PairInputs]):
    """Graded rotation detector of one pair (docs/analytics.md, "What counts as a rotation").

    Numerator = small-cap side, denominator = mega-cap side, R = numerator / denominator.
    Per bar and per side ("into_small_caps" = numerator leading; "into_mega_caps" the
    mirror image, every inequality reversed):

        shock        z(rho_1) >= shock_z, or 100 rho_1 >= shock_return_pp on each of
                     the last shock_return_bars bars
        regime       R > SMA_50(R), SMA_50(R) rising, and the RRG quadrant improving
                     or leading (weakening or lagging for into_mega_caps): the point
                     is on the "Improving -> Leading" path of docs/analytics.md
        persistence  rho_5 >= 5 pp, or rho_21 >= 8 pp, or streak >= 7
                     (rho_k = 100 ln(R_t / R_{t-k}); streak = consecutive bars with
                     rho_1 > 0, or < 0 for into_mega_caps)
        breadth      supplied by the caller: breadth confirms this side (for small caps:
                     RSP/SPY rising over 21 bars and % above the 50-bar MA rising, or a
                     breadth thrust within 20 bars)

        grade        broad_rotation = regime + persistence + breadth
                     rotation       = regime + persistence
                     watch          = shock

    The held regime (side, grade) rises at once and falls only when its grade has
    not been met for ``exit_bars`` consecutive bars; then the bar's own best reading
    takes over (the other side's, if it has one). Signals, only on a change:

        nothing -> any grade, watch -> higher    direction = the side
        rotation -> broad_rotation               "broadening"
        broad_rotation -> rotation               "narrowing"
        held side -> a grade of the other side   direction = the other side

    A regime that fades (to watch or nothing) ends silently; :attr:`grade` shows it.
    A change is signalled only when the held ``side:grade`` differs from the last one
    signalled: a regime that fades and comes back to the signalled side, at its grade
    or lower, within ``repeat_bars`` bars is the same regime and is not signalled
    again (the
    last signalled regime is part of the state, so a restart does not repeat it).
    Nothing is signalled before the rule is :attr:`initialized` (SMA and the long
    window full). Strength = the four criteria met on the signalled side (0-4), 1 for a
    watch (the shock alone); score = 50 at two (regime and persistence: a rotation), so
    a watch scores 25.
    """

    kind = "rotation_regime"
    scope = "pair"
    emit_order = 2
    feed_order = 5

    def __init__(self, subject: str, params: RegimeParams | None = None) -> None:
        self.subject = subject
        self.params = params or RegimeParams()
        self.reset()

    @classmethod
    def configure(cls, subject: Subject, universe: Universe) -> RotationRegime | None:
        if subject.pair is None or not subject.pair.regime:
            return None
        return cls(subject.label, universe.regime)

    @property
    def window_bars(self) -> int:
        return self.params.long_bars

    @property
    def initialized(self) -> bool:
        return self._sma.initialized and len(self._rs_history) == self._rs_history.maxlen

    @property
    def warmup_bars(self) -> int:
        """Bars before :attr:`initialized`: the SMA and the long window full."""
        p = self.params
        return max(p.sma_bars, max(p.short_bars, p.long_bars) + 1)

    @property
    def held_bars(self) -> int | None:
        """Bars since the held side began (0 on its first bar); None with no regime."""
        return None if self.side is None else self._held_bars

    @property
    def since_rs(self) -> float | None:
        """R at the bar where the held side began; None with no regime."""
        return None if self.side is None else self._since_rs

    @property
    def label(self) -> str | None:
        """``side:grade`` of the held regime; None when there is none."""
        return None if self.grade is None else f"{self.side}:{self.grade}"

    def reset(self) -> None:
        p = self.params
        self._sma = Sma(p.sma_bars)
        self._sma_history: deque[float] = deque(maxlen=p.sma_rising_bars + 1)
        self._rs_history: deque[float] = deque(maxlen=max(p.short_bars, p.long_bars) + 1)
        self._recent_returns_pp: deque[float | None] = deque(maxlen=p.shock_return_bars)
        self._up_streak = 0
        self._down_streak = 0
        self.side: Side | None = None
        self.grade: Grade | None = None
        self._failing = 0
        self._announced: tuple[Side, Grade] | None = None
        self._away = 0
        self._held_bars = 0
        self._since_rs: float | None = None

    def on_interval(self, inputs: PairInputs) -> Fired | None:
        point, rrg = inputs.point, inputs.rrg
        quadrant = rrg.quadrant if rrg is not None and not rrg.provisional else None
        return self.update(
            point.rs, point.log_return, point.zscore, quadrant, inputs.breadth[0], inputs.breadth[1]
        )

    def update(
        self,
        rs: float,
        log_return: float | None,
        zscore: float | None,
        quadrant: str | None,
        breadth_into_small_caps: bool = False,
        breadth_into_mega_caps: bool = False,
    ) -> Fired | None:
        """One bar: R, rho_1 (None on the first bar), z of rho_1, the final RRG quadrant
        (None while provisional) and whether breadth confirms each side."""
        if not (rs > 0 and math.isfinite(rs)):
            raise ValueError(f"rs must be > 0 and finite, got {rs}")
        if quadrant is not None and quadrant not in QUADRANTS:
            raise ValueError(f"quadrant must be one of {QUADRANTS} or None, got {quadrant!r}")
        breadth: dict[Side, bool] = {
            "into_small_caps": breadth_into_small_caps,
            "into_mega_caps": breadth_into_mega_caps,
        }
        readings = self._readings(rs, log_return, zscore, quadrant, breadth)
        if not self.initialized:
            return None
        grades = {side: self._grade_of(readings[side]) for side in _SIDES}
        held_side = self.side
        change = self._advance(grades)
        if self.side is None or self.side != held_side:
            self._held_bars, self._since_rs = 0, rs
        else:
            self._held_bars += 1
        held = None if self.side is None or self.grade is None else (self.side, self.grade)
        if change is None or held is None or self._repeats(held, change[2]):
            self._forget_announced(held)
            return None
        self._announced, self._away = held, 0
        side, previous, direction = change
        return self._fired(side, previous, direction, readings[side])

    def _repeats(self, held: tuple[Side, Grade], direction: str) -> bool:
        """The held regime is the last signalled one, or a lesser grade of its side
        (not a narrowing): nothing new to say."""
        announced = self._announced
        if announced is None or held[0] != announced[0] or direction == "narrowing":
            return False
        return _RANK[held[1]] <= _RANK[announced[1]]

    def _forget_announced(self, held: tuple[Side, Grade] | None) -> None:
        """Count bars away from the last signalled regime; forget it after repeat_bars."""
        if self._announced is None or held == self._announced:
            self._away = 0
            return
        self._away += 1
        if self._away > self.params.repeat_bars:
            self._announced, self._away = None, 0

    @staticmethod
    def _grade_of(criteria: dict[str, Any]) -> Grade | None:
        if criteria["regime"] and criteria["persistence"]:
            return "broad_rotation" if criteria["breadth"] else "rotation"
        return "watch" if criteria["shock"] else None

    def _readings(
        self,
        rs: float,
        log_return: float | None,
        zscore: float | None,
        quadrant: str | None,
        breadth: dict[Side, bool],
    ) -> dict[Side, dict[str, Any]]:
        """Add the bar to the windows; every criterion of both sides, and its inputs."""
        p = self.params
        sma = self._sma.update(rs)
        if sma is not None:
            self._sma_history.append(sma)
        sma_change = None
        if len(self._sma_history) == self._sma_history.maxlen:
            sma_change = self._sma_history[-1] - self._sma_history[0]
        self._rs_history.append(rs)
        rho_short = self._rho_pp(p.short_bars)
        rho_long = self._rho_pp(p.long_bars)
        return_pp = None if log_return is None else 100.0 * log_return
        self._recent_returns_pp.append(return_pp)
        self._up_streak = self._up_streak + 1 if return_pp is not None and return_pp > 0 else 0
        self._down_streak = self._down_streak + 1 if return_pp is not None and return_pp < 0 else 0
        recent_full = len(self._recent_returns_pp) == p.shock_return_bars
        readings: dict[Side, dict[str, Any]] = {}
        for side, sign, streak in zip(
            _SIDES, (1.0, -1.0), (self._up_streak, self._down_streak), strict=True
        ):
            shock = (zscore is not None and sign * zscore >= p.shock_z) or (
                recent_full
                and all(
                    r is not None and sign * r >= p.shock_return_pp for r in self._recent_returns_pp
                )
            )
            regime = (
                sma is not None
                and sma_change is not None
                and sign * (rs - sma) > 0
                and sign * sma_change > 0
                and quadrant in _SIDE_QUADRANTS[side]
            )
            persistence = (
                (rho_short is not None and sign * rho_short >= p.short_return_pp)
                or (rho_long is not None and sign * rho_long >= p.long_return_pp)
                or streak >= p.streak_bars
            )
            readings[side] = {
                "shock": shock,
                "regime": regime,
                "persistence": persistence,
                "breadth": breadth[side],
                "values": {
                    "rs": rs,
                    "rs_sma": sma,
                    "rs_sma_change": sma_change,
                    "quadrant": quadrant,
                    "zscore": zscore,
                    "log_return_pp": return_pp,
                    "rho_short_pp": rho_short,
                    "rho_long_pp": rho_long,
                    "streak": float(streak),
                },
            }
        return readings

    def _rho_pp(self, bars: int) -> float | None:
        if len(self._rs_history) <= bars:
            return None
        return 100.0 * math.log(self._rs_history[-1] / self._rs_history[-1 - bars])

    def _advance(self, grades: dict[Side, Grade | None]) -> tuple[Side, Grade | None, str] | None:
        """Move the held regime; (side, previous grade, direction) when a signal is due."""
        if self.side is None:
            # The two sides' criteria exclude each other (R above vs below its SMA, z
            # above vs below 0), so a tie between them is only ever "nothing".
            side = max(_SIDES, key=lambda s: _RANK[grades[s]])
            if grades[side] is None:
                return None
            self.side, self.grade, self._failing = side, grades[side], 0
            return side, None, side
        held, previous = self.side, self.grade
        now = grades[held]
        if _RANK[now] >= _RANK[previous]:
            self._failing = 0
            if now == previous:
                return None
            self.grade = now
            return held, previous, "broadening" if previous == "rotation" else held
        self._failing += 1
        if self._failing < self.params.exit_bars:
            return None
        self._failing = 0
        other: Side = "into_mega_caps" if held == "into_small_caps" else "into_small_caps"
        if _RANK[grades[other]] > _RANK[now]:
            self.side, self.grade = other, grades[other]
            return other, None, other
        self.side, self.grade = (held, now) if now is not None else (None, None)
        if previous == "broad_rotation" and now == "rotation":
            return held, previous, "narrowing"
        return None

    def _fired(
        self, side: Side, previous: Grade | None, direction: str, criteria: dict[str, Any]
    ) -> Fired:
        flags = {
            name: bool(criteria[name]) for name in ("shock", "regime", "persistence", "breadth")
        }
        grade = self.grade
        evidence: Evidence = {
            "grade": grade,
            "previous_grade": previous,
            "side": side,
            **criteria["values"],
            **{name: flag(met) for name, met in flags.items()},
        }
        met = [name for name, ok in flags.items() if ok]
        # A watch is the shock alone: its other readings do not make a rotation.
        strength = 1.0 if grade == "watch" else float(len(met))
        where = "small caps" if side == "into_small_caps" else "mega caps"
        if direction == "broadening":
            summary = (
                f"{self.subject}: the rotation into {where} is broadening, breadth confirms it"
            )
        elif direction == "narrowing":
            summary = (
                f"{self.subject}: the rotation into {where} is narrowing, "
                "breadth no longer confirms it"
            )
        else:
            label = {"watch": "watch", "rotation": "rotation", "broad_rotation": "broad rotation"}
            summary = (
                f"{self.subject}: {label[grade or 'watch']} into {where} "
                f"({', '.join(met) or 'no criteria'} met)"
            )
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=direction,
            score=scaled(strength, 2.0),
            evidence={"strength": strength, **evidence},
            summary=summary,
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "params": asdict(self.params),
            "sma": self._sma.to_state(),
            "sma_history": list(self._sma_history),
            "rs_history": list(self._rs_history),
            "recent_returns_pp": list(self._recent_returns_pp),
            "up_streak": self._up_streak,
            "down_streak": self._down_streak,
            "side": self.side,
            "grade": self.grade,
            "failing": self._failing,
            "announced": None if self._announced is None else list(self._announced),
            "away": self._away,
            "held_bars": self._held_bars,
            "since_rs": self._since_rs,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RotationRegime:
        rule = cls(state["subject"], RegimeParams(**state["params"]))
        rule._sma.restore([float(x) for x in state["sma"]])
        rule._sma_history.extend(float(x) for x in state["sma_history"])
        rule._rs_history.extend(float(x) for x in state["rs_history"])
        rule._recent_returns_pp.extend(
            None if x is None else float(x) for x in state["recent_returns_pp"]
        )
        rule._up_streak = int(state["up_streak"])
        rule._down_streak = int(state["down_streak"])
        rule.side = state["side"]
        rule.grade = state["grade"]
        rule._failing = int(state["failing"])
        announced = state.get("announced")
        rule._announced = None if announced is None else (announced[0], announced[1])
        rule._away = int(state.get("away", 0))
        rule._held_bars = int(state.get("held_bars", 0))
        since_rs = state.get("since_rs")
        rule._since_rs = None if since_rs is None else float(since_rs)
        return rule
