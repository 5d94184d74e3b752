"""The group crossover rule (``group_crossovers``, directions up and down): many of a
group's members crossed their RS average against the benchmark together."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.analytics.rules.base import Cooldown, Fired, GroupInputs, SignalRule, Subject
from agents.analytics.rules.scores import scaled

if TYPE_CHECKING:
    from agents.analytics.universe import Universe


@dataclass(frozen=True)
class GroupCrossoverParams:
    """``[signals] breadth_crossover_share``, ``breadth_crossover_bars`` (the window, also
    the warm-up) and ``breadth_crossover_cooldown_bars``."""

    share: float = 0.6
    bars: int = 3
    cooldown_bars: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError(f"breadth_crossover_share must be in (0, 1], got {self.share}")
        if self.bars < 1:
            raise ValueError(f"breadth_crossover_bars must be >= 1, got {self.bars}")


class GroupCrossovers(SignalRule[GroupInputs]):
    """The group-level summary of its members' RS crossovers against the benchmark.

    Over the last W = ``bars`` bars, a member counts for "up" when its latest RS
    crossover (:class:`agents.analytics.rules.rs_crossover.CrossoverDetector`, hysteresis
    and cooldown included) in the window was up, for "down" when it was down. With n
    members (the benchmark left out):

        fires "up"    when  count_up / n >= share
        fires "down"  when  count_down / n >= share

    e.g. "5 of 7 small_caps crossed above SPY within 3 bars". It stands in for the
    single-symbol crossovers while ``[signals] detail`` is off. Silent until W bars were
    seen and through the cooldown. Strength = count / n; score = 50 at ``share``.
    """

    kind = "group_crossovers"
    scope = "group"
    emit_order = 1
    feed_order = 6

    def __init__(
        self,
        subject: str,
        name: str,
        members: tuple[str, ...],
        benchmark: str,
        params: GroupCrossoverParams | None = None,
    ) -> None:
        self.subject = subject
        self.name = name
        self.members = tuple(m for m in members if m != benchmark)
        self.benchmark = benchmark
        self.params = params or GroupCrossoverParams()
        self.cooldown = Cooldown(self.params.cooldown_bars)
        self.reset()

    @classmethod
    def configure(cls, subject: Subject, universe: Universe) -> GroupCrossovers | None:
        s, rs = universe.signals, universe.relative_strength
        if subject.pair is not None or s.detail or not rs.benchmark or not rs.symbol_pairs:
            return None
        members = universe.groups.get(subject.name, ())
        if not [m for m in members if m != rs.benchmark]:
            return None
        params = GroupCrossoverParams(
            s.breadth_crossover_share, s.breadth_crossover_bars, s.breadth_crossover_cooldown_bars
        )
        return cls(subject.label, subject.name, members, rs.benchmark, params)

    @property
    def window_bars(self) -> int:
        return self.params.bars

    @property
    def initialized(self) -> bool:
        return self._seen >= self.params.bars

    def reset(self) -> None:
        self.cooldown.reset()
        self._window: deque[dict[str, str]] = deque(maxlen=self.params.bars)
        self._seen = 0

    def on_interval(self, inputs: GroupInputs) -> Fired | None:
        return self.update(dict(inputs.crossovers))

    def update(self, crossed: dict[str, str]) -> Fired | None:
        """One bar's RS crossovers vs the benchmark: symbol -> "up" or "down"."""
        self._seen += 1
        self.cooldown.tick()
        self._window.append({s: d for s, d in crossed.items() if s in self.members})
        if not self.initialized or not self.cooldown.ready or not self.members:
            return None
        latest: dict[str, str] = {}
        for bar in self._window:
            latest.update(bar)
        n = len(self.members)
        for direction in ("up", "down"):
            symbols = sorted(s for s, d in latest.items() if d == direction)
            if len(symbols) / n >= self.params.share:
                return self._fired(direction, symbols, n)
        return None

    def _fired(self, direction: str, symbols: list[str], n: int) -> Fired:
        since = self.cooldown.fire()
        self._window.clear()
        share = len(symbols) / n
        where = "above" if direction == "up" else "below"
        bars = self.params.bars
        return Fired(
            kind=self.kind,
            subject=self.subject,
            direction=direction,
            score=scaled(share, self.params.share),
            evidence={
                "strength": share,
                "crossed": float(len(symbols)),
                "members": float(n),
                "symbols": ",".join(symbols),
                "benchmark": self.benchmark,
                "window_bars": float(bars),
                "min_share": self.params.share,
                "bars_since_previous": since,
            },
            summary=(
                f"{len(symbols)} of {n} {self.name} crossed {where} {self.benchmark} "
                f"within {bars} bar{'s' if bars != 1 else ''}"
            ),
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "name": self.name,
            "members": list(self.members),
            "benchmark": self.benchmark,
            "share": self.params.share,
            "bars": self.params.bars,
            "cooldown_bars": self.params.cooldown_bars,
            "elapsed": self.cooldown.elapsed,
            "window": [dict(bar) for bar in self._window],
            "seen": self._seen,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GroupCrossovers:
        params = GroupCrossoverParams(
            float(state["share"]), int(state["bars"]), int(state["cooldown_bars"])
        )
        rule = cls(
            state["subject"], state["name"], tuple(state["members"]), state["benchmark"], params
        )
        rule.cooldown.elapsed = state["elapsed"]
        rule._window.extend(dict(bar) for bar in state["window"])
        rule._seen = int(state["seen"])
        return rule
