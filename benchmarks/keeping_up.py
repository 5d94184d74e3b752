"""Whether one worker keeps up with a paced rate, and the search for the highest such rate.

Pure functions over the figures of paced runs (:func:`benchmarks.e2e.latency_run`);
nothing here measures or waits.

A paced run *falls behind* (:func:`behind_reasons`) when

- the feed achieved less than :data:`ACHIEVED_FRACTION` of the rate asked for, or
- the metrics of the last interval did not reach the client while the benchmark
  waited for them after the feed ended, or
- they arrived late: more than :func:`late_limit_s` after the append that closed the
  interval. The limit is twice the median latency of the first third of the measured
  intervals, and at least :data:`LATE_FLOOR_S`. A worker that keeps up has about the
  same latency at the end as at the start; one that does not builds a backlog, and
  the latency of the last interval grows with the length of the run (a worker that
  manages a fraction c of the rate r ends a run of T seconds about (r / c - 1) * T
  seconds behind).

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
LATE_FLOOR_S = 2.0
LATE_FACTOR = 2.0
EARLY_FRACTION = 1 / 3
PRECISION = 1.25


def early_latencies(cause: Mapping[int, float], latency_ms: Mapping[int, float]) -> list[float]:
    """Latencies (ms) of the first :data:`EARLY_FRACTION` of the intervals, by cause time."""
    ends = sorted((e for e in latency_ms if e in cause), key=lambda e: cause[e])
    return [latency_ms[e] for e in ends[: max(1, math.ceil(len(ends) * EARLY_FRACTION))]]


def late_limit_s(early_p50_ms: float | None) -> float:
    """Seconds after its cause beyond which the last interval counts as late."""
    if early_p50_ms is None:
        return LATE_FLOOR_S
    return max(LATE_FLOOR_S, LATE_FACTOR * early_p50_ms / 1000)


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
        limit = late_limit_s((run.get("early_latency_ms") or {}).get("p50"))
        if lag > limit:
            reasons.append(
                f"the last interval arrived {lag:.1f} s after its ticks (> {limit:.1f} s)"
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
