"""From complete bar intervals to rotation metrics and signals (the second stage).

For each complete interval, in order:

1. each group's breadth (:class:`GroupBreadth`) from its members' bars and their
   per-symbol indicators (computed by the first stage);
2. each pair's relative strength (:class:`RelativeStrength`) and Relative Rotation
   Graph point (:class:`RelativeRotation`). A leg is a symbol (its last close,
   carried forward over intervals without a bar) or a group (its equal-weight index);
3. the signal rules of :mod:`agents.analytics.rules`, each configured by itself for
   each group and pair (``configure``) and fed the interval's inputs: the groups'
   rules their breadth, the pairs' rules their RS and RRG points and the breadth
   confirmation of each side, which is: a breadth thrust of that side's group within
   ``thrust_recent_bars``, or its % above SMA and its A/D line both higher than
   ``confirm_bars`` intervals ago. Each signal's window is its rule's ``window_bars``.
   The groups' rules run after the pairs', so that ``group_crossovers`` sees the
   members' RS crossovers against the benchmark of the same interval.

Every signal carries its level (:func:`agents.analytics.rules.levels.level_of`);
detail signals are dropped unless ``[signals] detail`` is on, and any signal scoring
below ``[signals] min_score`` (:mod:`agents.analytics.rules.scores`) is dropped.

Signal ids are derived from (kind, subject, direction, window end): a replay or a
retry yields the same id.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from agents.analytics.breadth import BreadthParams
from agents.analytics.breadth_table import BreadthTable, IntervalColumns
from agents.analytics.indicators import settled_after
from agents.analytics.interval_bars import IntervalBars
from agents.analytics.relative_strength import RelativeStrength, RSPoint
from agents.analytics.rrg import RelativeRotation, RRGPoint
from agents.analytics.rules import RULES
from agents.analytics.rules.base import Fired, GroupInputs, PairInputs, SignalRule, Subject
from agents.analytics.rules.levels import level_of
from agents.analytics.rules.rotation_regime import RotationRegime
from agents.analytics.session_change import SessionChange
from agents.analytics.universe import PairSpec, Universe
from streams.records import (
    Bar,
    GroupStats,
    MetricsSnapshot,
    PairStats,
    RRGStats,
    Signal,
)
from streams.units import MICROS

_NO_COLUMNS = IntervalColumns(**{f.name: np.zeros(0) for f in fields(IntervalColumns)})  # type: ignore[arg-type]  # converted to each column's dtype on construction

Verdict = tuple[SignalRule[Any], Fired]
"""A rule's verdict with the rule that gave it (its window and emit order)."""


def signal_id(kind: str, subject: str, direction: str, window_end: int) -> str:
    """Content-derived id: the same signal from a replay or a retry has the same id."""
    text = f"{kind}|{subject}|{direction}|{window_end}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def configured_rules(subject: Subject, universe: Universe) -> list[SignalRule[Any]]:
    """The rules of :data:`agents.analytics.rules.RULES` the configuration turns on for
    ``subject``, in that order."""
    rules = [rule.configure(subject, universe) for rule in RULES if rule.scope == subject.scope]
    return [rule for rule in rules if rule is not None]


class GroupTracker:
    """A group's breadth, its signal rules and the history confirmation needs."""

    def __init__(self, name: str, universe: Universe) -> None:
        params = universe.signals
        self.name = name
        self.rules: list[SignalRule[GroupInputs]] = configured_rules(Subject(name), universe)
        self.history: deque[tuple[float | None, int]] = deque(maxlen=params.confirm_bars + 1)
        self.last_thrust: int | None = None
        self.metrics: GroupStats | None = None
        self.intervals = 0

    def update(self, interval: int, metrics: GroupStats) -> None:
        """Take the group's breadth at one interval."""
        self.metrics = metrics
        self.intervals += 1
        self.history.append((metrics.pct_above_sma, metrics.ad_line))
        if metrics.zweig_thrust:
            self.last_thrust = interval

    def provisional(self, params: BreadthParams) -> list[str]:
        """The group's figures still leaning on their EMAs' seeds: until the seed's
        weight, (1 - alpha)^n, is under :data:`SEED_WEIGHT` (59 bars for the McClellan
        slow EMA, alpha 0.05; 15 for the Zweig EMA, alpha 2/11)."""
        out = []
        if self.intervals < settled_after(2.0 / (params.mcclellan_slow + 1)):
            out += ["mcclellan_oscillator", "mcclellan_ratio_adjusted", "summation_index"]
        if self.intervals < settled_after(2.0 / (params.zweig_span + 1)):
            out.append("zweig_ema")
        return out

    def verdicts(self, crossovers: tuple[tuple[str, str], ...] = ()) -> list[Verdict]:
        """The verdicts of the group's rules on the interval taken last."""
        assert self.metrics is not None
        return _verdicts(self.rules, GroupInputs(self.metrics, crossovers))

    def confirms(self, interval: int, recent_bars: int) -> bool:
        """Breadth backs this group: a recent thrust, or % above SMA and A/D line rising."""
        if self.last_thrust is not None and interval - self.last_thrust <= recent_bars:
            return True
        if len(self.history) < (self.history.maxlen or 0):
            return False
        (then_pct, then_ad), (now_pct, now_ad) = self.history[0], self.history[-1]
        return (
            then_pct is not None and now_pct is not None and now_pct > then_pct
        ) and now_ad > then_ad


class PairTracker:
    """A pair's RS line, RRG point and signal rules."""

    def __init__(self, spec: PairSpec, universe: Universe) -> None:
        rs = universe.relative_strength
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
        self.rules: list[SignalRule[PairInputs]] = configured_rules(
            Subject(spec.name, spec), universe
        )
        self.regime = next((r for r in self.rules if isinstance(r, RotationRegime)), None)
        self.crossover: str | None = None

    def provisional(self, point: RSPoint, rrg: RRGPoint | None) -> list[str]:
        """The pair's figures whose window is not full yet."""
        out = [
            name
            for name, value in (
                ("rs_sma", point.sma),
                ("rs_change_pct", point.change_pct),
                ("zscore", point.zscore),
            )
            if value is None
        ]
        if rrg is None or rrg.provisional:
            out.append("rrg")
        if self.regime is not None and not self.regime.initialized:
            out.append("regime")
        return out

    def update(
        self, numerator: float, denominator: float, breadth: tuple[bool, bool]
    ) -> tuple[RSPoint, RRGPoint | None, list[Verdict]]:
        point, cross = self.rs.update(numerator, denominator)
        self.crossover = None if cross is None else cross.direction
        rrg = self.rrg.update(numerator, denominator)
        return point, rrg, _verdicts(self.rules, PairInputs(point, cross, rrg, breadth))

    def regime_label(self) -> str | None:
        """The first label a rule of the pair publishes (the held rotation regime)."""
        return next((rule.label for rule in self.rules if rule.label is not None), None)


def _verdicts(rules: list[SignalRule[Any]], inputs: Any) -> list[Verdict]:
    verdicts = []
    for rule in rules:
        fired = rule.on_interval(inputs)
        if fired is not None:
            verdicts.append((rule, fired))
    return verdicts


class RotationEngine:
    """Pure second stage: feed complete intervals, get snapshots and signals."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        self.closes: dict[str, float] = {}
        self.groups = {name: GroupTracker(name, universe) for name in universe.groups}
        symbols = sorted(universe.symbols)
        self._symbols = np.array(symbols)
        self.breadth = (
            BreadthTable(
                universe.groups,
                symbols,
                universe.breadth,
                {s: spec.cap for s, spec in universe.symbols.items()},
            )
            if universe.groups
            else None
        )
        self.pairs = [PairTracker(spec, universe) for spec in universe.all_pairs()]
        self.pair_specs = {pair.subject: pair.spec for pair in self.pairs}
        # The symbols a pair has as a leg: their last closes, carried forward.
        self._legs = sorted(
            {leg for p in self.pairs for leg in (p.spec.numerator, p.spec.denominator)}
            - set(self.groups)
        )
        self.interval_ends: deque[int] = deque(maxlen=512)
        self.session = SessionChange(universe.bar_seconds)
        self.bars = 0
        self.interval_ticks = 0

    def on_interval(
        self, end: int, bars: IntervalBars | Sequence[Bar]
    ) -> tuple[list[MetricsSnapshot], list[Signal]]:
        """Apply one complete interval's bars; return its snapshots and signals."""
        if not isinstance(bars, IntervalBars):
            bars = IntervalBars.of(end, bars)
        self.bars += 1
        self.interval_ends.append(end)
        self.interval_ticks = int(bars.ticks.sum())
        symbols = bars.symbols
        for leg in self._legs:
            i = bisect.bisect_left(symbols, leg)
            if i < len(symbols) and symbols[i] == leg:
                self.closes[leg] = float(bars.close[i])
        snapshots: list[MetricsSnapshot] = []
        verdicts: list[Verdict] = []
        breadth = [] if self.breadth is None else self.breadth.on_interval(self._columns(bars))
        for group, metrics in zip(self.groups.values(), breadth, strict=True):
            group.update(self.bars, metrics)
            snapshots.append(self._group_snapshot(group, end))
        levels = {
            name: group.metrics.equal_weight_index
            for name, group in self.groups.items()
            if group.metrics is not None and group.metrics.equal_weight_index is not None
        }
        values = {**self.closes, **levels}
        self.session.update(end, values)
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
            point, rrg, pair_verdicts = pair.update(num, den, confirm)
            snapshots.append(self._pair_snapshot(pair, end, point, rrg))
            verdicts += pair_verdicts
        crossed = self._benchmark_crossovers()
        for group in self.groups.values():
            verdicts += group.verdicts(crossed)
        verdicts = [v for v in verdicts if self._sent(v)]
        # sorted() is stable: within an emit order, subjects and rules keep their order.
        ordered = sorted(verdicts, key=lambda verdict: verdict[0].emit_order)
        return snapshots, [self._signal(rule, fired, end) for rule, fired in ordered]

    def _benchmark_crossovers(self) -> tuple[tuple[str, str], ...]:
        """Each symbol's RS crossover against the benchmark at this interval."""
        benchmark = self.universe.relative_strength.benchmark
        return tuple(
            sorted(
                (pair.spec.numerator, pair.crossover)
                for pair in self.pairs
                if pair.crossover is not None
                and pair.spec.denominator == benchmark
                and pair.spec.numerator not in self.groups
            )
        )

    def _sent(self, verdict: Verdict) -> bool:
        """Whether a verdict goes out: its level switched on and its score high enough."""
        rule, fired = verdict
        signals = self.universe.signals
        if fired.score < signals.min_score:
            return False
        return signals.detail or level_of(fired.kind, _pair_of(rule, self)) != "detail"

    def _columns(self, bars: IntervalBars) -> IntervalColumns:
        """The interval's bars with indicators, as the breadth table takes them (symbols
        outside the universe left out)."""
        stats = bars.stats
        if stats is None or not len(bars):
            return _NO_COLUMNS
        names = np.asarray(bars.symbols)
        index = np.searchsorted(self._symbols, names)
        known = index < len(self._symbols)
        known[known] = self._symbols[index[known]] == names[known]
        direction, above = stats["direction"], stats["above_sma"]
        has_direction = ~np.isnan(direction)
        return IntervalColumns(
            index=index[known],
            close=bars.close[known],
            direction=np.where(has_direction, direction, 0.0)[known],
            has_direction=has_direction[known],
            above_sma=(above == 1.0)[known],
            has_sma=~np.isnan(above)[known],
            new_high=(stats["new_high"] == 1.0)[known],
            new_low=(stats["new_low"] == 1.0)[known],
            up_volume=stats["up_volume"][known],
            down_volume=stats["down_volume"][known],
        )

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
            provisional=group.provisional(self.universe.breadth),
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
                origin=spec.origin,  # type: ignore[arg-type]  # the config loader admits only PairOrigin values
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
                **self._regime_figures(pair, point),
                last=self.session.last.get(spec.numerator),
                change_pct=self.session.change_pct(spec.numerator),
            ),
            provisional=pair.provisional(point, rrg),
        )

    def _regime_figures(self, pair: PairTracker, point: RSPoint) -> dict[str, Any]:
        """``regime_since`` (end of the bar where the held side began) and the RS change
        since that bar, in %; None without a held regime."""
        rule = pair.regime
        held, since_rs = (None, None) if rule is None else (rule.held_bars, rule.since_rs)
        if held is None or since_rs is None or held >= len(self.interval_ends):
            return {"regime_since": None, "regime_rs_change_pct": None}
        return {
            "regime_since": self.interval_ends[-1 - held],
            "regime_rs_change_pct": 100.0 * (point.rs / since_rs - 1.0),
        }

    def _window_start(self, bars: int) -> int:
        """Start of the first of the last ``bars`` bars: a session bar starts at the
        open (bars follow the ``[calendar]``), so not always one interval before its end."""
        ends = self.interval_ends
        first = ends[-bars] if len(ends) >= bars else ends[0]
        grid = self.universe.calendar.grid(self.universe.bar_seconds * MICROS)
        starts, _ = grid.bounds(np.array([first - 1], dtype=np.int64))
        start = int(starts[0])
        return start if start >= 0 else first - self.universe.bar_seconds * MICROS

    def _signal(self, rule: SignalRule[Any], fired: Fired, end: int) -> Signal:
        return Signal(
            id=signal_id(fired.kind, fired.subject, fired.direction, end),
            kind=fired.kind,  # type: ignore[arg-type]  # each rule fires only its own SignalKind
            subject=fired.subject,
            direction=fired.direction,  # type: ignore[arg-type]  # rules name only Direction values
            score=round(fired.score, 6),
            window_start=self._window_start(rule.window_bars),
            window_end=end,
            ts=end,
            summary=fired.summary,
            evidence=dict(fired.evidence),
            level=level_of(fired.kind, _pair_of(rule, self)),
        )


def _pair_of(rule: SignalRule[Any], engine: RotationEngine) -> PairSpec | None:
    """The pair a rule watches (None for a group's rule)."""
    if rule.scope != "pair":
        return None
    return engine.pair_specs.get(rule.subject)
