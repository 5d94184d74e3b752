"""The signal rules, one module each, and the order the engine composes them in.

Every rule implements :class:`agents.analytics.rules.base.SignalRule`; the engine
asks each rule of :data:`RULES` to configure itself for every pair and group
(``configure`` returns None where the configuration leaves the rule off) and feeds
the rules it got one interval at a time. :data:`RULES` is every rule class defined in
a module of this package, by ``feed_order``: a new rule is a module here and its
parameters in the configuration.

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

import importlib
import inspect
import pkgutil
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


def _rules_of_this_package() -> tuple[type[SignalRule[Any]], ...]:
    found: list[type[SignalRule[Any]]] = []
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        found += [
            member
            for member in vars(module).values()
            if inspect.isclass(member)
            and issubclass(member, SignalRule)
            and member.__module__ == module.__name__
            and not inspect.isabstract(member)
        ]
    return tuple(sorted(found, key=lambda rule: rule.feed_order))


RULES: tuple[type[SignalRule[Any]], ...] = _rules_of_this_package()
"""Every rule, in the order each subject's rules see an interval (``feed_order``)."""

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
