"""The level of every signal: which part of the hierarchy it belongs to.

| level      | signals                                                               |
|------------|-----------------------------------------------------------------------|
| headline   | ``rotation_regime`` (the rotation regime of a regime pair, its grade) |
| supporting | every rule of a configured pair (IWM/QQQ, RSP/SPY, a sector ETF vs    |
|            | SPY) or a group vs benchmark pair; every group rule (breadth thrusts, |
|            | breadth divergences, ``group_crossovers``)                            |
| detail     | every other rule of a single symbol vs the benchmark                  |
|            | (``PairSpec.origin == "symbol_vs_benchmark"``)                        |

Detail signals are sent only with ``[signals] detail = true``; otherwise
``group_crossovers`` sums their RS crossovers up per group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from agents.analytics.universe import PairSpec

Level = Literal["headline", "supporting", "detail"]
"""The same values as ``streams.records.SignalLevel``."""

HEADLINE_KINDS = frozenset({"rotation_regime"})


def level_of(kind: str, pair: PairSpec | None) -> Level:
    """The level of a signal of ``kind`` on ``pair`` (None for a group's rule)."""
    if kind in HEADLINE_KINDS:
        return "headline"
    if pair is not None and pair.origin == "symbol_vs_benchmark":
        return "detail"
    return "supporting"
