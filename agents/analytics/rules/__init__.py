"""The signal rules, one module each, and the order the engine composes them in.

Every rule implements :class:`agents.analytics.rules.base.SignalRule`; the engine
asks each rule of :data:`RULES` to configure itself for every pair and group
(``configure`` returns None where the configuration leaves the rule off) and feeds
the rules it got one interval at a time. A new rule is a module here, its entry in
:data:`RULES` and its parameters in the configuration.

| kind               | subject | directions                                             |
|--------------------|---------|--------------------------------------------------------|
| rs_crossover       | pair    | up, down                                               |
| rs_breakout        | pair    | up, down                                               |
| rrg_quadrant       | pair    | up (to leading/improving), down (to weakening/lagging) |
| breadth_thrust     | group   | up                                                     |
| breadth_divergence | group   | up (bullish), down (bearish)                           |
| rotation_regime    | pair    | into_small_caps, into_mega_caps, broadening, narrowing |
"""

from __future__ import annotations

from typing import Any

from agents.analytics.rules.base import (
    Fired,
    GroupInputs,
    PairInputs,
    SignalRule,
    Subject,
)
from agents.analytics.rules.breadth_divergence import BreadthDivergence, DivergenceParams
from agents.analytics.rules.breadth_thrust import BreadthThrust, ThrustParams
from agents.analytics.rules.rotation_regime import RegimeParams, RotationRegime
from agents.analytics.rules.rrg_quadrant import QuadrantParams, RrgQuadrantChange
from agents.analytics.rules.rs_breakout import BreakoutParams, RsBreakout
from agents.analytics.rules.rs_crossover import CrossoverParams, RsCrossover

RULES: tuple[type[SignalRule[Any]], ...] = (
    RsCrossover,
    RsBreakout,
    RrgQuadrantChange,
    BreadthThrust,
    BreadthDivergence,
    RotationRegime,
)
"""Every rule, in the order each subject's rules see an interval and emit signals."""

__all__ = [
    "RULES",
    "BreadthDivergence",
    "BreadthThrust",
    "BreakoutParams",
    "CrossoverParams",
    "DivergenceParams",
    "Fired",
    "GroupInputs",
    "PairInputs",
    "QuadrantParams",
    "RegimeParams",
    "RotationRegime",
    "RrgQuadrantChange",
    "RsBreakout",
    "RsCrossover",
    "SignalRule",
    "Subject",
    "ThrustParams",
]
