"""From complete bar intervals to rotation metrics and signals (the second stage).

For each complete interval, in order:

1. each group's breadth (:class:`GroupBreadth`) from its members' bars and their
   per-symbol indicators (computed by the first stage);
2. each pair's relative strength (:class:`RelativeStrength`) and Relative Rotation
   Graph point (:class:`RelativeRotation`). A leg is a symbol (its last close,
   carried forward over intervals without a bar) or a group (its equal-weight index);
3. the signal rules: RS crossover (in RelativeStrength), RS breakout, RRG quadrant
   change, breadth thrust, breadth divergence and, for pairs with ``regime = true``,
   the graded rotation regime, whose breadth confirmation for a side is: a breadth
   thrust of that side's group within ``thrust_recent_bars``, or its % above SMA and
   its A/D line both higher than ``confirm_bars`` intervals ago.

Signal ids are derived from (kind, subject, direction, window end): a replay or a
retry yields the same id.
"""

from __future__ import annotations

import hashlib
from collections import deque

from agents.analytics.breadth import GroupBreadth
from agents.analytics.relative_strength import Crossover, RelativeStrength, RSPoint
from agents.analytics.rrg import RelativeRotation, RRGPoint
from agents.analytics.signal_rules import (
    BreadthDivergence,
    BreadthThrust,
    Fired,
    RotationRegime,
    RrgQuadrantChange,
    RsBreakout,
)
from agents.analytics.universe import PairSpec, Universe
from streams.records import (
    Bar,
    GroupStats,
    MetricsSnapshot,
    PairStats,
    RRGStats,
    Signal,
    SymbolStats,
)
from streams.units import MICROS


def signal_id(kind: str, subject: str, direction: str, window_end: int) -> str:
    """Content-derived id: the same signal from a replay or a retry has the same id."""
    text = f"{kind}|{subject}|{direction}|{window_end}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class GroupTracker:
    """A group's breadth, its breadth signal rules and the history confirmation needs."""

    def __init__(self, name: str, universe: Universe) -> None:
        caps = {s: universe.symbols[s].cap for s in universe.groups[name]}
        params = universe.signals
        self.name = name
        self.breadth = GroupBreadth(universe.groups[name], universe.breadth, caps)
        self.thrust = BreadthThrust(f"group:{name}", params.thrust_cooldown_bars)
        self.divergence = BreadthDivergence(
            f"group:{name}", params.divergence_lookback_bars, params.divergence_cooldown_bars
        )
        self.history: deque[tuple[float | None, int]] = deque(maxlen=params.confirm_bars + 1)
        self.last_thrust: int | None = None
        self.metrics: GroupStats | None = None

    def update(self, interval: int, members: dict[str, SymbolStats]) -> list[Fired]:
        metrics = self.metrics = self.breadth.on_interval(members)
        self.history.append((metrics.pct_above_sma, metrics.ad_line))
        if metrics.zweig_thrust:
            self.last_thrust = interval
        fired = [self.thrust.update(metrics.zweig_thrust, metrics.zweig_ema)]
        if metrics.equal_weight_index is not None:
            fired.append(self.divergence.update(metrics.equal_weight_index, metrics.ad_line))
        return [f for f in fired if f is not None]

    def confirms(self, interval: int, recent_bars: int) -> bool:
        """Breadth backs this group: a recent thrust, or % above SMA and A/D line rising."""
        if self.last_thrust is not None and interval - self.last_thrust <= recent_bars:
            return True
        if len(self.history) < self.history.maxlen:  # type: ignore[operator]
            return False
        (then_pct, then_ad), (now_pct, now_ad) = self.history[0], self.history[-1]
        return (
            then_pct is not None and now_pct is not None and now_pct > then_pct
        ) and now_ad > then_ad


class PairTracker:
    """A pair's RS line, RRG point and signal rules."""

    def __init__(self, spec: PairSpec, universe: Universe) -> None:
        rs, signals = universe.relative_strength, universe.signals
        self.spec = spec
        self.subject = f"pair:{spec.name}"
        self.rs = RelativeStrength(
            rs.sma_bars,
            rs.change_bars,
            rs.hysteresis_pct,
            rs.cooldown_bars,
            zscore_bars=rs.zscore_bars,
        )
        self.rrg = RelativeRotation(universe.rrg)
        self.breakout = RsBreakout(
            self.subject,
            signals.breakout_z,
            signals.breakout_rearm,
            signals.breakout_cooldown_bars,
        )
        self.quadrants = (
            RrgQuadrantChange(self.subject, signals.quadrant_dwell_bars)
            if spec.origin != "symbol_vs_benchmark" or signals.symbol_quadrant_signals
            else None
        )
        self.regime = RotationRegime(self.subject, universe.regime) if spec.regime else None

    def update(
        self, numerator: float, denominator: float, breadth: tuple[bool, bool]
    ) -> tuple[RSPoint, RRGPoint | None, Crossover | None, list[Fired]]:
        point, cross = self.rs.update(numerator, denominator)
        rrg = self.rrg.update(numerator, denominator)
        fired = [self.breakout.update(point.zscore, point.log_return)]
        if rrg is not None and self.quadrants is not None:
            fired.append(self.quadrants.update(rrg.rs_ratio, rrg.rs_momentum, rrg.provisional))
        if self.regime is not None:
            quadrant = rrg.quadrant if rrg is not None and not rrg.provisional else None
            fired.append(
                self.regime.update(
                    point.rs, point.log_return, point.zscore, quadrant, breadth[0], breadth[1]
                )
            )
        return point, rrg, cross, [f for f in fired if f is not None]

    def regime_label(self) -> str | None:
        if self.regime is None or self.regime.grade is None:
            return None
        return f"{self.regime.side}:{self.regime.grade}"


class RotationEngine:
    """Pure second stage: feed complete intervals, get snapshots and signals."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        self.closes: dict[str, float] = {}
        self.groups = {name: GroupTracker(name, universe) for name in universe.groups}
        self.pairs = [PairTracker(spec, universe) for spec in universe.all_pairs()]
        self.interval_ends: deque[int] = deque(maxlen=512)
        self.bars = 0
        self.interval_ticks = 0

    def on_interval(self, end: int, bars: list[Bar]) -> tuple[list[MetricsSnapshot], list[Signal]]:
        """Apply one complete interval's bars; return its snapshots and signals."""
        self.bars += 1
        self.interval_ends.append(end)
        members: dict[str, SymbolStats] = {}
        self.interval_ticks = sum(bar.ticks for bar in bars)
        for bar in bars:
            self.closes[bar.symbol] = bar.close
            if bar.stats is not None:
                members[bar.symbol] = bar.stats
        snapshots: list[MetricsSnapshot] = []
        fired: list[Fired] = []
        for group in self.groups.values():
            fired += group.update(self.bars, members)
            snapshots.append(self._group_snapshot(group, end))
        levels = {
            name: group.metrics.equal_weight_index
            for name, group in self.groups.items()
            if group.metrics is not None and group.metrics.equal_weight_index is not None
        }
        values = {**self.closes, **levels}
        signals: list[Signal] = []
        recent = self.universe.signals.thrust_recent_bars
        for pair in self.pairs:
            num, den = values.get(pair.spec.numerator), values.get(pair.spec.denominator)
            if num is None or den is None:
                continue
            confirm = (False, False)
            if pair.spec.breadth:
                confirm = (
                    self.groups[pair.spec.breadth[0]].confirms(self.bars, recent),
                    self.groups[pair.spec.breadth[1]].confirms(self.bars, recent),
                )
            point, rrg, cross, pair_fired = pair.update(num, den, confirm)
            snapshots.append(self._pair_snapshot(pair, end, point, rrg))
            if cross is not None:
                signals.append(self._crossover(pair, end, cross))
            fired += pair_fired
        signals += [self._signal(f, end) for f in fired]
        return snapshots, signals

    def _group_snapshot(self, group: GroupTracker, end: int) -> MetricsSnapshot:
        assert group.metrics is not None
        return MetricsSnapshot(
            subject=f"group:{group.name}",
            kind="group",
            ts=end,
            bar_seconds=self.universe.bar_seconds,
            bars=self.bars,
            interval_ticks=self.interval_ticks,
            group=group.metrics,
        )

    def _pair_snapshot(
        self, pair: PairTracker, end: int, point: RSPoint, rrg: RRGPoint | None
    ) -> MetricsSnapshot:
        rrg_stats = None
        if rrg is not None:
            rrg_stats = RRGStats(
                rs_ratio=rrg.rs_ratio,
                rs_momentum=rrg.rs_momentum,
                quadrant=rrg.quadrant,
                provisional=rrg.provisional,
                tail=[(p.rs_ratio, p.rs_momentum) for p in pair.rrg.tail],
            )
        spec = pair.spec
        return MetricsSnapshot(
            subject=pair.subject,
            kind="pair",
            ts=end,
            bar_seconds=self.universe.bar_seconds,
            bars=self.bars,
            interval_ticks=self.interval_ticks,
            pair=PairStats(
                numerator=spec.numerator,
                denominator=spec.denominator,
                origin=spec.origin,  # type: ignore[arg-type]
                rs=point.rs,
                rs_sma=point.sma,
                rs_vs_sma_pct=point.vs_sma_pct,
                rs_change_pct=point.change_pct,
                log_return=point.log_return,
                zscore=point.zscore,
                streak=point.streak,
                above_sma=None if point.state is None else point.state == "above",
                rrg=rrg_stats,
                regime=pair.regime_label(),
            ),
        )

    def _window_start(self, bars: int) -> int:
        ends = self.interval_ends
        first = ends[-bars] if len(ends) >= bars else ends[0]
        return first - self.universe.bar_seconds * MICROS

    def _crossover(self, pair: PairTracker, end: int, cross: Crossover) -> Signal:
        window = self.universe.relative_strength.sma_bars
        num, den = pair.spec.numerator, pair.spec.denominator
        leader, lagger = (num, den) if cross.direction == "up" else (den, num)
        return Signal(
            id=signal_id("rs_crossover", pair.subject, cross.direction, end),
            kind="rs_crossover",
            subject=pair.subject,
            direction=cross.direction,
            score=round(abs(cross.vs_sma_pct), 6),
            window_start=self._window_start(window),
            window_end=end,
            ts=end,
            summary=(
                f"{pair.spec.name}: RS crossed {'above' if cross.direction == 'up' else 'below'} "
                f"its {window}-bar average by {cross.vs_sma_pct:+.2f}%: {leader} leading {lagger}"
            ),
            evidence={
                "rs": cross.rs,
                "rs_sma": cross.sma,
                "rs_vs_sma_pct": cross.vs_sma_pct,
                "sma_bars": float(window),
                "hysteresis_pct": self.universe.relative_strength.hysteresis_pct,
                "bars_since_previous": (
                    None if cross.bars_since_previous is None else float(cross.bars_since_previous)
                ),
                "leader": leader,
                "lagger": lagger,
            },
        )

    def _signal(self, fired: Fired, end: int) -> Signal:
        window = {
            "rs_breakout": self.universe.relative_strength.zscore_bars,
            "rrg_quadrant": self.universe.rrg.m,
            "breadth_thrust": self.universe.breadth.zweig_window,
            "breadth_divergence": self.universe.signals.divergence_lookback_bars,
            "rotation_regime": self.universe.regime.long_bars,
        }.get(fired.kind, 1)
        return Signal(
            id=signal_id(fired.kind, fired.subject, fired.direction, end),
            kind=fired.kind,  # type: ignore[arg-type]
            subject=fired.subject,
            direction=fired.direction,  # type: ignore[arg-type]
            score=round(fired.score, 6),
            window_start=self._window_start(window),
            window_end=end,
            ts=end,
            summary=fired.summary,
            evidence=dict(fired.evidence),
        )
