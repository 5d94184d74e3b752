"""The universe the analytics run on: symbols, groups, pairs and every parameter.

Plain frozen dataclasses, built by the composition root from the configuration file
(:mod:`rotation.config`) or by a test directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.analytics.breadth import BreadthParams
from agents.analytics.rrg import RRGParams
from agents.analytics.signal_rules import RegimeParams, SignalParams
from agents.analytics.symbols import SymbolParams
from agents.analytics.tick_checks import TickRules
from streams.feeds.simulator import SimulatorParams, SymbolSpec
from streams.topics import DEFAULT_TOPICS, Topics


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
    sma_bars: int
    change_bars: int
    hysteresis_pct: float
    cooldown_bars: int
    zscore_bars: int = 20
    benchmark: str | None = None
    symbol_pairs: bool = True
    group_pairs: bool = True


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

    def members(self, name: str) -> tuple[str, ...]:
        """The symbols behind a pair leg: a group's members, or the symbol itself."""
        return self.groups.get(name, (name,))

    def all_pairs(self) -> tuple[PairSpec, ...]:
        """The configured pairs, then each group and each symbol against the benchmark."""
        pairs = list(self.pairs)
        benchmark = self.relative_strength.benchmark
        if benchmark:
            taken = {p.name for p in pairs}
            legs: list[tuple[str, str]] = []
            if self.relative_strength.group_pairs:
                legs += [(g, "group_vs_benchmark") for g in self.groups]
            if self.relative_strength.symbol_pairs:
                legs += [(s, "symbol_vs_benchmark") for s in self.symbols if s != benchmark]
            for leg, origin in legs:
                name = f"{leg}/{benchmark}"
                if name not in taken:
                    pairs.append(PairSpec(name, leg, benchmark, origin))
        return tuple(pairs)
