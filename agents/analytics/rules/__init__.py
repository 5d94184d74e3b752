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
| group_crossovers   | group   | up, down (members crossed above/below the benchmark)   |

Levels (:mod:`agents.analytics.rules.levels`): ``rotation_regime`` is ``headline``; a
rule of a symbol vs benchmark pair is ``detail`` (sent only with ``[signals] detail``);
everything else is ``supporting``.

Scores (:mod:`agents.analytics.rules.scores`): one scale for every kind,

    score = min(100, 50 * strength / reference)

50 = the rule's threshold just met, 100 = a very strong case; ``evidence["strength"]``
keeps the rule's own measure. References: rs_crossover 2 x hysteresis_pct (% from the
SMA), rs_breakout breakout_z (|z|), rrg_quadrant quadrant_score_distance (distance
from 100, 100), breadth_thrust zweig_high (ZBT), breadth_divergence 0.5 (A/D shortfall
share of its range), rotation_regime 2 (criteria met; a watch counts 1),
group_crossovers breadth_crossover_share. ``[signals] min_score`` (50) drops every
signal below it.

No rule speaks before ``initialized``, which covers every bar it looks back over.
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
from agents.analytics.rules.group_crossovers import GroupCrossoverParams, GroupCrossovers
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
    "GroupCrossoverParams",
    "GroupCrossovers",
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
