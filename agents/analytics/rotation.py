"""From complete bar intervals to rotation metrics and signals, for every pair.

A pair leg is a symbol (its last close, carried forward over intervals without
ticks) or a group (its equal-weight index: the mean of the members' closes each
divided by that member's close at the group's first complete interval, i.e. the
index is 1.0 there). Each pair keeps a :class:`RelativeStrength`; its crossovers
become ``rs_crossover`` signals with content-derived ids.
"""

from __future__ import annotations

import hashlib

from agents.analytics.relative_strength import Crossover, RelativeStrength
from streams.config import Universe
from streams.records import Bar, MetricsSnapshot, PairMetrics, Signal

METRICS_SUBJECT = "relative_strength"


def signal_id(kind: str, subject: str, direction: str, window_end: int) -> str:
    """Content-derived id: the same signal from a replay or a retry has the same id."""
    text = f"{kind}|{subject}|{direction}|{window_end}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class GroupIndex:
    """Equal-weight index of a group: mean of close_i / base_i, base at first full bar."""

    def __init__(self, members: tuple[str, ...]) -> None:
        self.members = members
        self.base: dict[str, float] | None = None

    def value(self, closes: dict[str, float]) -> float | None:
        if self.base is None:
            if any(m not in closes for m in self.members):
                return None
            self.base = {m: closes[m] for m in self.members}
        return sum(closes[m] / self.base[m] for m in self.members) / len(self.members)


class RotationEngine:
    """Pure rotation stage: feed complete intervals, get metrics and signals."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        params = universe.relative_strength
        self.closes: dict[str, float] = {}
        self.indices = {name: GroupIndex(m) for name, m in universe.groups.items()}
        self.pairs = {
            pair.name: RelativeStrength(
                params.sma_bars, params.change_bars, params.hysteresis_pct, params.cooldown_bars
            )
            for pair in universe.pairs
        }
        self.interval_ends: list[int] = []
        self.bars = 0

    def on_interval(self, end: int, bars: list[Bar]) -> tuple[MetricsSnapshot, list[Signal]]:
        """Apply one complete interval's bars; return the snapshot and any signals."""
        for bar in bars:
            self.closes[bar.symbol] = bar.close
        self.bars += 1
        self.interval_ends.append(end)
        levels = {name: index.value(self.closes) for name, index in self.indices.items()}
        values = {**self.closes, **{k: v for k, v in levels.items() if v is not None}}
        pair_metrics: list[PairMetrics] = []
        signals: list[Signal] = []
        for pair in self.universe.pairs:
            num, den = values.get(pair.numerator), values.get(pair.denominator)
            if num is None or den is None:
                continue
            tracker = self.pairs[pair.name]
            point, cross = tracker.update(num, den)
            pair_metrics.append(
                PairMetrics(
                    pair=pair.name,
                    numerator=pair.numerator,
                    denominator=pair.denominator,
                    rs=point.rs,
                    rs_sma=point.sma,
                    rs_vs_sma_pct=point.vs_sma_pct,
                    rs_change_pct=point.change_pct,
                    above_sma=None if point.state is None else point.state == "above",
                )
            )
            if cross is not None:
                signals.append(
                    self._signal(pair.name, pair.numerator, pair.denominator, end, cross)
                )
        self._trim_ends()
        snapshot = MetricsSnapshot(
            subject=METRICS_SUBJECT,
            ts=end,
            bar_seconds=self.universe.bar_seconds,
            bars=self.bars,
            pairs=pair_metrics,
            prices=dict(sorted(values.items())),
        )
        return snapshot, signals

    def _signal(self, subject: str, num: str, den: str, end: int, cross: Crossover) -> Signal:
        window = self.universe.relative_strength.sma_bars
        start = self.interval_ends[-window] - self.universe.bar_seconds * 1_000_000
        leader, lagger = (num, den) if cross.direction == "up" else (den, num)
        return Signal(
            id=signal_id("rs_crossover", subject, cross.direction, end),
            kind="rs_crossover",
            subject=subject,
            direction=cross.direction,
            score=round(abs(cross.vs_sma_pct), 6),
            window_start=start,
            window_end=end,
            ts=end,
            summary=(
                f"{subject}: RS crossed {'above' if cross.direction == 'up' else 'below'} its "
                f"{window}-bar average by {cross.vs_sma_pct:+.2f}%: {leader} leading {lagger}"
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

    def _trim_ends(self) -> None:
        keep = self.universe.relative_strength.sma_bars + 1
        if len(self.interval_ends) > 4 * keep:
            del self.interval_ends[:-keep]
