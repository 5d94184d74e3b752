"""Whether one worker keeps up with a paced rate, and the search for the highest such rate.

Pure functions over the figures of paced runs (:func:`benchmarks.e2e.latency_run`);
nothing here measures or waits.

A paced run *falls behind* (:func:`behind_reasons`) when

- the feed achieved less than :data:`ACHIEVED_FRACTION` of the rate asked for, or
- the metrics of the last interval did not reach the client while the benchmark
  waited for them after the feed ended, or
- they arrived late (:func:`late_by_s`): the last interval's latency exceeds the
  median latency of the first third of the measured intervals by more than
  :data:`LATE_GROWTH` seconds per second between the two (and by at least
  :data:`LATE_FLOOR_S`). A worker that keeps up is about as late at the end as at
  the start, however late that is (a slow start leaves a backlog it then holds);
  one that manages only a fraction c of the rate builds a backlog, and its latency
  grows by about (1 / c - 1) seconds per second: 0.1 is c = 91%.

The search (:func:`next_rate`) halves the gap between the highest rate known to keep
up and the lowest known to fall behind, on a log scale (the geometric mean), doubling
or halving when one side is not known yet, until the two are within
:data:`PRECISION` of each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

ACHIEVED_FRACTION = 0.95
LATE_GROWTH = 0.1
LATE_FLOOR_S = 1.0
EARLY_FRACTION = 1 / 3
PRECISION = 1.25


def early_latencies(
    cause: Mapping[int, float], latency_ms: Mapping[int, float]
) -> tuple[list[float], float | None]:
    """Latencies (ms) of the first :data:`EARLY_FRACTION` of the intervals (by cause
    time), and the seconds from their median cause to the last interval's cause."""
    ends = sorted((e for e in latency_ms if e in cause), key=lambda e: cause[e])
    if not ends:
        return [], None
    early = ends[: max(1, math.ceil(len(ends) * EARLY_FRACTION))]
    middle = early[len(early) // 2]
    last = max(cause, key=lambda e: cause[e])
    return [latency_ms[e] for e in early], cause[last] - cause[middle]


def late_by_s(run: Mapping[str, Any]) -> tuple[float, float] | None:
    """(seconds by which the last interval's latency exceeds the early median, the most
    it may), or None when the run lacks the figures."""
    lag = run.get("last_interval_lag_s")
    early = (run.get("early_latency_ms") or {}).get("p50")
    span = run.get("early_to_last_s")
    if lag is None or early is None or span is None:
        return None
    return lag - early / 1000, max(LATE_FLOOR_S, LATE_GROWTH * span)


def behind_reasons(run: Mapping[str, Any], rate: float) -> list[str]:
    """Why a paced run at ``rate`` fell behind; empty when the worker kept up."""
    reasons = []
    achieved = run.get("achieved_ticks_per_s")
    if achieved is None or achieved < ACHIEVED_FRACTION * rate:
        shown = "none" if achieved is None else f"{achieved:,.0f}"
        reasons.append(
            f"the feed achieved {shown} ticks/s, under {ACHIEVED_FRACTION:.0%} of {rate:,.0f}"
        )
    lag = run.get("last_interval_lag_s")
    if not run.get("caught_up") or lag is None:
        wait = run.get("drain_timeout_s")
        within = f" within {wait:.0f} s after the feed ended" if wait else ""
        reasons.append(f"the last interval's metrics did not arrive{within}")
    else:
        late = late_by_s(run)
        if late is not None and late[0] > late[1]:
            reasons.append(
                f"the last interval arrived {lag:.1f} s after its ticks, {late[0]:.1f} s "
                f"later than the first third's median (> {late[1]:.1f} s)"
            )
    return reasons


def verdict(runs: list[Mapping[str, Any]], rate: float) -> dict[str, Any]:
    """Kept up in most of ``runs``? With every run's reasons."""
    reasons = [behind_reasons(run, rate) for run in runs]
    kept = sum(1 for r in reasons if not r)
    return {
        "keeps_up": bool(runs) and kept * 2 > len(runs),
        "runs_kept_up": kept,
        "runs": len(runs),
        "reasons": [reason for r in reasons for reason in r],
    }


def nice_rate(rate: float) -> float:
    """``rate`` to two significant figures (63,245.6 -> 63,000)."""
    if rate <= 0:
        raise ValueError(f"a rate must be > 0, got {rate}")
    step = 10 ** max(0, math.floor(math.log10(rate)) - 1)
    return float(round(rate / step) * step)


def next_rate(
    kept_up: float | None,
    behind: float | None,
    *,
    lowest: float,
    highest: float,
    precision: float = PRECISION,
) -> float | None:
    """The next rate to try, or None when the search is done.

    ``kept_up``: the highest rate known to keep up (None: none yet); ``behind``: the
    lowest known to fall behind (None: none yet). Done when they are within
    ``precision`` of each other, or when the next rate would leave
    [``lowest``, ``highest``] or repeat a bound.
    """
    if kept_up is not None and behind is not None:
        if behind <= kept_up * precision:
            return None
        candidate = nice_rate(math.sqrt(kept_up * behind))
        return candidate if kept_up < candidate < behind else None
    if kept_up is None and behind is None:
        return nice_rate(highest)
    if kept_up is None:
        assert behind is not None
        candidate = nice_rate(behind / 2)
        return candidate if candidate >= lowest else None
    assert kept_up is not None
    candidate = nice_rate(kept_up * 2)
    return candidate if candidate <= highest else None


def sustained(tested: Mapping[float, bool]) -> dict[str, Any]:
    """The highest rate that kept up below the lowest that fell behind, from ``tested``
    (rate -> kept up). ``at_least``: no tested rate fell behind."""
    behind = min((r for r, ok in tested.items() if not ok), default=None)
    kept = [r for r, ok in tested.items() if ok and (behind is None or r < behind)]
    return {
        "ticks_per_s": max(kept) if kept else None,
        "falls_behind_at": behind,
        "at_least": behind is None,
        "tested": {f"{r:.0f}": ok for r, ok in sorted(tested.items())},
    }
