"""Signal rules: small detectors, fed one bar of plain numbers, that say when to speak.

Each rule takes numbers, booleans and quadrant names, never another module's
records, so any source can drive it (the RS tracker, the RRG, a breadth module, a
replay, a test). ``update(...)`` returns a :class:`Fired` or None; the caller turns a
``Fired`` into a wire signal (id, window, time). Rules are independent: compose them
by feeding the same bar to several.

Conventions shared by every rule:

- One ``update`` per closed bar, in order; bars are counted by updates.
- Cooldown of c bars: after a signal at bar b the rule is silent through bar
  b + c - 1; a condition met inside the cooldown is dropped, not delayed (a
  z-score shock or a new high is an event of its bar, stale a few bars later).
- ``to_state()`` returns JSON-able data, configuration included, and
  ``from_state(state)`` continues identically.
- Flags in ``evidence`` are 1.0 (met) or 0.0 (not met), so evidence stays
  ``dict[str, float | str | None]``.

Kinds and directions:

| kind               | directions                                               |
|--------------------|----------------------------------------------------------|
| rs_breakout        | up, down                                                 |
| rrg_quadrant       | up (to leading/improving), down (to weakening/lagging)   |
| breadth_thrust     | up                                                       |
| breadth_divergence | up (bullish), down (bearish)                             |
| rotation_regime    | into_small_caps, into_mega_caps, broadening, narrowing   |
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

from agents.analytics.indicators import RollingExtremes, Sma
from agents.analytics.rrg import CENTRE, QUADRANTS, quadrant_of

Evidence = dict[str, float | str | None]


@dataclass(frozen=True)
class Fired:
    """A rule's verdict at one bar: what fired, which way, how strongly and why."""

    kind: str
    subject: str
    direction: str
    score: float
    evidence: Evidence
    summary: str


def _flag(condition: bool) -> float:
    return 1.0 if condition else 0.0


class _Cooldown:
    """Bars since the last signal, and whether the rule may speak again."""

    def __init__(self, bars: int) -> None:
        if bars < 0:
            raise ValueError(f"cooldown_bars must be >= 0, got {bars}")
        self.bars = bars
        self.elapsed: int | None = None

    def tick(self) -> None:
        if self.elapsed is not None:
            self.elapsed += 1

    @property
    def ready(self) -> bool:
        return self.elapsed is None or self.elapsed >= self.bars

    def fire(self) -> float | None:
        """Start a new cooldown; bars since the previous signal (None for the first)."""
        since = None if self.elapsed is None else float(self.elapsed)
        self.elapsed = 0
        return since


class RsBreakout:
    """RS z-score shock (ANALYTICS.md, "Relative strength": |z| >= 3 is a shock).

    z_t = (rho_1,t - mean_N(rho_1)) / sd_N(rho_1), computed by the RS tracker. Fires
    "up" when z >= z_threshold and "down" when z <= -z_threshold. After any bar
    with |z| >= z_threshold (fired or dropped in the cooldown) the rule is disarmed
    and re-arms only once |z| < rearm: one shock episode, one signal. Score = |z|.
    """

    kind = "rs_breakout"

    def __init__(
        self,
        subject: str,
        z_threshold: float = 3.0,
        rearm: float = 1.0,
        cooldown_bars: int = 10,
    ) -> None:
        if not 0 <= rearm < z_threshold:
            raise ValueError(f"need 0 <= rearm < z_threshold, got {rearm} and {z_threshold}")
        self.subject = subject
        self.z_threshold = z_threshold
        self.rearm = rearm
        self.cooldown = _Cooldown(cooldown_bars)
        self.armed = True

    def update(self, zscore: float | None, log_return: float | None = None) -> Fired | None:
        """One bar's RS z-score (None while it warms up) and, for evidence, its rho_1."""
        self.cooldown.tick()
        if zscore is None:
            return None
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
            score=abs(zscore),
            evidence={
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
            "elapsed": self.cooldown.elapsed,
            "armed": self.armed,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RsBreakout:
        rule = cls(
            state["subject"],
            float(state["z_threshold"]),
            float(state["rearm"]),
            int(state["cooldown_bars"]),
        )
        rule.cooldown.elapsed = state["elapsed"]
        rule.armed = bool(state["armed"])
        return rule


class RrgQuadrantChange:
    """A subject's RRG point settled in a new quadrant (ANALYTICS.md, "Relative Rotation
    Graph"; quadrant and tie rule of :func:`agents.analytics.rrg.quadrant_of`).

    Only final (non-provisional) points count. A quadrant is settled once it has held
    for ``min_dwell_bars`` consecutive points, so a one-bar flicker across an axis is
    not a signal; the first settled quadrant is taken silently. Direction "up" into
    leading or improving (RS-Momentum >= 100), "down" into weakening or lagging.
    Score = distance of the point from the centre: sqrt((RSR - 100)^2 + (RSM - 100)^2).
    """

    kind = "rrg_quadrant"

    def __init__(self, subject: str, min_dwell_bars: int = 2) -> None:
        if min_dwell_bars < 1:
            raise ValueError(f"min_dwell_bars must be >= 1, got {min_dwell_bars}")
        self.subject = subject
        self.min_dwell_bars = min_dwell_bars
        self.quadrant: str | None = None
        self._candidate: str | None = None
        self._dwell = 0

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
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=direction,
            score=math.hypot(rs_ratio - CENTRE, rs_momentum - CENTRE),
            evidence={
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
            "quadrant": self.quadrant,
            "candidate": self._candidate,
            "dwell": self._dwell,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RrgQuadrantChange:
        rule = cls(state["subject"], int(state["min_dwell_bars"]))
        rule.quadrant = state["quadrant"]
        rule._candidate = state["candidate"]
        rule._dwell = int(state["dwell"])
        return rule


class BreadthThrust:
    """Zweig breadth thrust (ANALYTICS.md, "Breadth": ZBT_t = EMA10(A / (A + D)) above
    0.615 with a reading under 0.40 in the previous 10 bars), as decided by the breadth
    module and passed in as ``zweig_thrust``.

    Fires "up" on the first bar of a thrust; a thrust that lasts several bars is one
    signal, and a new one needs a bar without thrust first and the cooldown passed.
    Score = ZBT_t (the share of advancers, smoothed; 0 if not supplied).
    """

    kind = "breadth_thrust"

    def __init__(self, subject: str, cooldown_bars: int = 20) -> None:
        self.subject = subject
        self.cooldown = _Cooldown(cooldown_bars)
        self.armed = True

    def update(self, zweig_thrust: bool, zweig_ema: float | None) -> Fired | None:
        """One bar's thrust flag and ZBT level."""
        self.cooldown.tick()
        if not zweig_thrust:
            self.armed = True
            return None
        fire = self.armed and self.cooldown.ready
        self.armed = False
        if not fire:
            return None
        since = self.cooldown.fire()
        level = "n/a" if zweig_ema is None else f"{zweig_ema:.3f}"
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction="up",
            score=0.0 if zweig_ema is None else zweig_ema,
            evidence={"zweig_ema": zweig_ema, "bars_since_previous": since},
            summary=f"{self.subject}: Zweig breadth thrust, smoothed advancing share {level}",
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "cooldown_bars": self.cooldown.bars,
            "elapsed": self.cooldown.elapsed,
            "armed": self.armed,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BreadthThrust:
        rule = cls(state["subject"], int(state["cooldown_bars"]))
        rule.cooldown.elapsed = state["elapsed"]
        rule.armed = bool(state["armed"])
        return rule


class BreadthDivergence:
    """Index and advance/decline line disagree at a lookback extreme.

    With H, L the highest and lowest of the previous N bars (the current bar
    excluded; silent until N bars were seen):

        bearish "down":  index_t > H(index)  and  ADL_t <= H(ADL)
        bullish "up":    index_t < L(index)  and  ADL_t >= L(ADL)

    Score: the A/D line's shortfall as a fraction of its lookback range, so the
    arbitrary level of the A/D line does not matter: (H(ADL) - ADL_t) / (H - L)(ADL)
    when bearish, (ADL_t - L(ADL)) / (H - L)(ADL) when bullish; 0 for a flat A/D line.
    0 means the A/D line is just short of confirming, 1 that it sits at the opposite
    end of its range, above 1 that it broke out the other way.
    """

    kind = "breadth_divergence"

    def __init__(self, subject: str, lookback_bars: int = 20, cooldown_bars: int = 20) -> None:
        if lookback_bars < 1:
            raise ValueError(f"lookback_bars must be >= 1, got {lookback_bars}")
        self.subject = subject
        self.lookback_bars = lookback_bars
        self.cooldown = _Cooldown(cooldown_bars)
        self._index = RollingExtremes(lookback_bars)
        self._ad_line = RollingExtremes(lookback_bars)

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
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=direction,
            score=shortfall / ad_range if ad_range > 0 else 0.0,
            evidence={
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
    """Thresholds of the graded rotation detector; defaults from ANALYTICS.md,
    "What counts as a rotation" (returns in percentage points of log relative return).

    ``sma_rising_bars`` is our choice where ANALYTICS.md only says "rising":
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

    def __post_init__(self) -> None:
        for name in (
            "shock_return_bars",
            "sma_bars",
            "sma_rising_bars",
            "short_bars",
            "long_bars",
            "streak_bars",
            "exit_bars",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class RotationRegime:
    """Graded rotation detector of one pair (ANALYTICS.md, "What counts as a rotation").

    Numerator = small-cap side, denominator = mega-cap side, R = numerator / denominator.
    Per bar and per side ("into_small_caps" = numerator leading; "into_mega_caps" the
    mirror image, every inequality reversed):

        shock        z(rho_1) >= shock_z, or 100 rho_1 >= shock_return_pp on each of
                     the last shock_return_bars bars
        regime       R > SMA_50(R), SMA_50(R) rising, and the RRG quadrant improving
                     or leading (weakening or lagging for into_mega_caps): the point
                     is on the "Improving -> Leading" path of ANALYTICS.md
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
    Score = number of the four criteria met on the signalled side (0-4).
    """

    kind = "rotation_regime"

    def __init__(self, subject: str, params: RegimeParams | None = None) -> None:
        self.subject = subject
        self.params = params or RegimeParams()
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
        grades = {side: self._grade_of(readings[side]) for side in _SIDES}
        change = self._advance(grades)
        if change is None:
            return None
        side, previous, direction = change
        return self._fired(side, previous, direction, readings[side])

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
            **{name: _flag(met) for name, met in flags.items()},
        }
        met = [name for name, ok in flags.items() if ok]
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
            score=float(len(met)),
            evidence=evidence,
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
        return rule


@dataclass(frozen=True)
class SignalParams:
    """Thresholds of the per-bar rules, with the defaults the rules take.

    ``symbol_quadrant_signals``: also signal RRG quadrant changes of the symbol vs
    benchmark pairs (many symbols rotate every few days; off, their points are still
    published). ``confirm_bars`` and ``thrust_recent_bars`` set the breadth confirmation fed to
    :class:`RotationRegime` (ANALYTICS.md: "% above the 50-bar MA rising over 21 bars,
    or a breadth thrust within 20 bars").
    """

    breakout_z: float = 3.0
    breakout_rearm: float = 1.0
    breakout_cooldown_bars: int = 10
    quadrant_dwell_bars: int = 2
    symbol_quadrant_signals: bool = False
    thrust_cooldown_bars: int = 20
    divergence_lookback_bars: int = 20
    divergence_cooldown_bars: int = 20
    confirm_bars: int = 21
    thrust_recent_bars: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.breakout_rearm < self.breakout_z:
            raise ValueError("need 0 < breakout_rearm < breakout_z")
        for name in ("quadrant_dwell_bars", "divergence_lookback_bars", "confirm_bars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
