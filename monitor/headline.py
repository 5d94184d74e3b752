"""The regime headline: the rotation regime each regime pair holds, since when, and
how far its relative strength has moved since.

A pair is a *regime pair* when it is named in the monitor's ``regime_pairs`` option
(default :data:`DEFAULT_REGIME_PAIRS`, the pairs the shipped universe runs the regime
detector on), or when the gateway shows it to be one: a metrics snapshot of it
carried a ``regime``, or a ``rotation_regime`` signal was about it. The monitor
cannot read the worker's configuration, so this is all it can know from the wire.
Named pairs come first, in the order given, then discovered ones in the order they
were discovered.

The figures are the worker's (``PairStats.regime``, ``regime_since``,
``regime_rs_change_pct``): the RS change since the regime began is
``(R_t / R_since - 1) * 100`` with R the price relative numerator / denominator.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.records import MetricsSnapshot, Signal

DEFAULT_REGIME_PAIRS = ("IWM/QQQ", "small_caps/mega_cap_tech")
UPWARD_SIDES = ("into_small_caps", "broadening")
"""Sides drawn as ▲ (green): money moving into the numerator's side."""


def parse_pairs(text: str) -> tuple[str, ...]:
    """``"IWM/QQQ, small_caps/mega_cap_tech"`` -> the pair names, in order, no repeats."""
    return tuple(dict.fromkeys(text.replace(",", " ").split()))


def split_regime(label: str | None) -> tuple[str | None, str | None]:
    """``"into_small_caps:rotation"`` -> ``("into_small_caps", "rotation")``."""
    if not label:
        return None, None
    side, _, grade = label.partition(":")
    return side or None, grade or None


@dataclass(frozen=True)
class RegimeView:
    """One entry of the headline: a regime pair and the regime it holds, if any."""

    pair: str
    side: str | None = None
    grade: str | None = None
    since: int | None = None
    """End of the bar the held regime began at, epoch microseconds."""
    rs_change_pct: float | None = None
    """RS change since the regime began, %."""
    bar_seconds: int | None = None
    """The pair's bar interval; ``None`` while no metrics of the pair have arrived."""
    last_call: Signal | None = None
    """The newest ``rotation_regime`` signal about the pair, if one was seen."""

    @property
    def held(self) -> bool:
        return self.side is not None

    @property
    def has_data(self) -> bool:
        return self.bar_seconds is not None

    @property
    def upward(self) -> bool:
        return self.side in UPWARD_SIDES


def regime_view(
    pair: str, latest: MetricsSnapshot | None, last_call: Signal | None = None
) -> RegimeView:
    """The headline entry of ``pair`` from its latest metrics snapshot (if any)."""
    if latest is None or latest.pair is None:
        return RegimeView(pair, last_call=last_call)
    stats = latest.pair
    side, grade = split_regime(stats.regime)
    if side is None:
        return RegimeView(pair, bar_seconds=latest.bar_seconds, last_call=last_call)
    return RegimeView(
        pair,
        side,
        grade,
        stats.regime_since,
        stats.regime_rs_change_pct,
        latest.bar_seconds,
        last_call,
    )
