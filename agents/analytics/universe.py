"""The universe the analytics run on: symbols, groups, pairs and every parameter.

Plain frozen dataclasses, built by the composition root from the configuration file
(:mod:`rotation.config`) or by a test directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.analytics.breadth import BreadthParams
from agents.analytics.rrg import RRGParams
from agents.analytics.rules.rotation_regime import RegimeParams
from agents.analytics.symbols import SymbolParams
from agents.analytics.tick_checks import TickRules
from streams.feeds.simulator import SimulatorParams, SymbolSpec
from streams.sessions import Sessions
from streams.topics import DEFAULT_TOPICS, Topics


@dataclass(frozen=True)
class SignalParams:
    """The ``[signals]`` table: thresholds of the per-bar rules, with the defaults the
    rules take. Each rule builds its own parameters from it (``configure`` in
    :mod:`agents.analytics.rules`).

    ``symbol_quadrant_signals``: also signal RRG quadrant changes of the symbol vs
    benchmark pairs (many symbols rotate every few days; off, their points are still
    published). ``confirm_bars`` and ``thrust_recent_bars`` set the breadth
    confirmation fed to the rotation regime rule (docs/analytics.md: "% above the 50-bar
    MA rising over 21 bars, or a breadth thrust within 20 bars").

    The hierarchy and the noise floor (docs/signals.md): ``detail`` sends the
    single-symbol (detail level) signals; off, ``group_crossovers`` sums their RS
    crossovers up per group: ``breadth_crossover_share`` of a group crossing the
    same way within ``breadth_crossover_bars`` bars, then silent for
    ``breadth_crossover_cooldown_bars``. ``min_score`` drops every signal scoring
    below it (0-100, 50 = the rule's threshold just met); ``quadrant_score_distance``
    is the RRG distance from the centre that scores 50.
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
    detail: bool = False
    breadth_crossover_share: float = 0.6
    breadth_crossover_bars: int = 3
    breadth_crossover_cooldown_bars: int = 10
    quadrant_score_distance: float = 2.0
    min_score: float = 50.0

    def __post_init__(self) -> None:
        if not 0 < self.breakout_rearm < self.breakout_z:
            raise ValueError("need 0 < breakout_rearm < breakout_z")
        if not 0 < self.breadth_crossover_share <= 1:
            raise ValueError("need 0 < breadth_crossover_share <= 1")
        if not 0 <= self.min_score <= 100:
            raise ValueError(f"min_score must be in [0, 100], got {self.min_score}")
        if self.quadrant_score_distance <= 0:
            raise ValueError("quadrant_score_distance must be > 0")
        for name in (
            "quadrant_dwell_bars",
            "divergence_lookback_bars",
            "confirm_bars",
            "breadth_crossover_bars",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class PairSpec:
    """Numerator vs denominator. ``regime``: run the rotation-regime detector on it,
    with ``breadth`` naming the groups whose breadth confirms each side."""

    name: str
    numerator: str
    denominator: str
    origin: str = "configured"
    regime: bool = False
    breadth: tuple[str, str] | None = None


@dataclass(frozen=True)
class RelativeStrengthParams:
    """The ``[relative_strength]`` table. ``symbol_pairs``: true (every symbol gets a
    pair against the benchmark), false (none), or the symbols and groups whose members
    get one (names the universe lacks are skipped, so one list serves any universe)."""

    sma_bars: int
    change_bars: int
    hysteresis_pct: float
    cooldown_bars: int
    zscore_bars: int = 20
    benchmark: str | None = None
    symbol_pairs: bool | tuple[str, ...] = True
    group_pairs: bool = True


@dataclass(frozen=True)
class SnapshotParams:
    """The ``[snapshots]`` table: how often each stage writes its state (after
    ``every_intervals`` bar intervals or ``every_seconds`` seconds, whichever first; 0
    turns that trigger off, both 0 turns snapshots off) and the directory of the local
    cache (empty: none)."""

    every_intervals: int = 100
    every_seconds: float = 60.0
    local_dir: str = ""

    def __post_init__(self) -> None:
        if self.every_intervals < 0 or self.every_seconds < 0:
            raise ValueError("every_intervals and every_seconds must be >= 0 (0: off)")


@dataclass(frozen=True)
class Universe:
    symbols: dict[str, SymbolSpec]
    groups: dict[str, tuple[str, ...]]
    pairs: tuple[PairSpec, ...]
    bar_seconds: int
    allowed_lateness_seconds: float
    relative_strength: RelativeStrengthParams
    simulator: SimulatorParams
    source: str
    symbol: SymbolParams = field(default_factory=SymbolParams)
    breadth: BreadthParams = field(default_factory=BreadthParams)
    rrg: RRGParams = field(default_factory=RRGParams)
    signals: SignalParams = field(default_factory=SignalParams)
    regime: RegimeParams = field(default_factory=RegimeParams)
    ticks: TickRules = field(default_factory=TickRules)
    topics: Topics = DEFAULT_TOPICS
    gateway: dict[str, Any] = field(default_factory=dict)
    """``[gateway]`` settings given in the file: field name of
    ``gateway.settings.GatewaySettings`` -> value (checked against its fields)."""
    snapshots: SnapshotParams = field(default_factory=SnapshotParams)
    """When the worker's stages write snapshots of their state (``[snapshots]``)."""
    calendar: Sessions = field(default_factory=Sessions.continuous)
    """The trading sessions bars follow (``[calendar] exchange``); continuous: the
    epoch grid, no time off-session."""

    def members(self, name: str) -> tuple[str, ...]:
        """The symbols behind a pair leg: a group's members, or the symbol itself."""
        return self.groups.get(name, (name,))

    def pair_symbols(self) -> tuple[str, ...]:
        """The symbols that get a pair against the benchmark (``symbol_pairs``)."""
        chosen = self.relative_strength.symbol_pairs
        if chosen is True or chosen is False:
            return tuple(self.symbols) if chosen else ()
        named = [m for name in chosen for m in self.groups.get(name, (name,))]
        return tuple(dict.fromkeys(m for m in named if m in self.symbols))

    def all_pairs(self) -> tuple[PairSpec, ...]:
        """The configured pairs, then each group and each symbol against the benchmark."""
        pairs = list(self.pairs)
        benchmark = self.relative_strength.benchmark
        if benchmark:
            taken = {p.name for p in pairs}
            legs: list[tuple[str, str]] = []
            if self.relative_strength.group_pairs:
                legs += [(g, "group_vs_benchmark") for g in self.groups]
            legs += [(s, "symbol_vs_benchmark") for s in self.pair_symbols() if s != benchmark]
            for leg, origin in legs:
                name = f"{leg}/{benchmark}"
                if name not in taken:
                    pairs.append(PairSpec(name, leg, benchmark, origin))
        return tuple(pairs)
