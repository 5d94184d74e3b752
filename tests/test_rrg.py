"""The RRG module against the checks of docs/analytics.md, "Relative Rotation Graph"."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.analytics.rrg import (
    QUADRANTS,
    RelativeRotation,
    RRGParams,
    RRGPoint,
    quadrant_of,
)

prices = st.floats(min_value=0.5, max_value=2000.0, allow_nan=False, allow_infinity=False)


def sine_relative(bars: int, benchmark: float = 50.0) -> list[tuple[float, float]]:
    """docs/analytics.md check: asset = benchmark * (1 + 0.05 sin(2 pi t / 60))."""
    return [
        (benchmark * (1 + 0.05 * math.sin(2 * math.pi * t / 60)), benchmark) for t in range(bars)
    ]


def run(pairs: list[tuple[float, float]], params: RRGParams | None = None) -> list:
    rrg = RelativeRotation(params)
    return [rrg.update(p, b) for p, b in pairs]


def final_points(pairs: list[tuple[float, float]]) -> list[RRGPoint]:
    return [p for p in run(pairs) if p is not None and not p.provisional]


def pandas_rrg(price: list[float], benchmark: list[float], m: int, k: int) -> pd.DataFrame:
    """The same formulas written as plain pandas over the whole series."""
    rs = pd.Series(price) / pd.Series(benchmark)
    smoothed = rs.ewm(span=m, adjust=False).mean()
    rs_ratio = 100 * smoothed / smoothed.rolling(m).mean()
    roc = (rs_ratio - rs_ratio.shift(k)) / rs_ratio.shift(k)
    rs_momentum = 100 + 100 * roc.ewm(span=m, adjust=False).mean()
    return pd.DataFrame({"rs_ratio": rs_ratio, "rs_momentum": rs_momentum})


def test_default_parameters_and_warm_up():
    params = RRGParams()
    assert (params.m, params.k, params.tail) == (14, 10, 8)
    assert params.warmup_bars == 14 + 14 + 14
    assert RRGParams(m=10, k=12).warmup_bars == 10 + 12 + 10


def test_nothing_until_rs_ratio_and_momentum_exist():
    out = run(sine_relative(40), RRGParams(m=14, k=10))
    # RS-Ratio needs m bars, its k-bar change k more: the first point is bar m + k.
    assert all(p is None for p in out[: 14 + 10 - 1])
    assert out[14 + 10 - 1] is not None


def test_points_are_provisional_until_m_plus_max_m_k_plus_m_bars():
    out = run(sine_relative(60))
    flags = [p.provisional for p in out if p is not None]
    first_final = next(i for i, p in enumerate(out) if p is not None and not p.provisional)
    assert first_final == 42 - 1  # the 42nd bar completes the warm-up
    assert flags == sorted(flags, reverse=True)  # provisional, then final for good


def test_asset_equal_to_benchmark_sits_at_the_centre_and_counts_as_leading():
    walk = np.cumprod(1 + np.random.default_rng(3).normal(0, 0.01, 80)) * 100
    points = [p for p in run([(x, x) for x in walk]) if p is not None]
    assert all(p.rs_ratio == 100.0 and p.rs_momentum == 100.0 for p in points)
    # Ties at exactly 100 count as "at or above" on both axes.
    assert {p.quadrant for p in points} == {"leading"}


def test_quadrants_clockwise_with_ties_counted_as_at_or_above():
    assert QUADRANTS == ("leading", "weakening", "lagging", "improving")
    assert quadrant_of(101, 101) == "leading"
    assert quadrant_of(101, 99) == "weakening"
    assert quadrant_of(99, 99) == "lagging"
    assert quadrant_of(99, 101) == "improving"
    assert quadrant_of(100, 99.9) == "weakening"
    assert quadrant_of(99.9, 100) == "improving"
    assert quadrant_of(100, 100) == "leading"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(prices, prices), min_size=30, max_size=80),
    st.floats(min_value=1e-3, max_value=1e3),
    st.sampled_from(["price", "benchmark"]),
)
def test_rescaling_either_price_leaves_every_point_unchanged(pairs, factor, which):
    params = RRGParams(m=5, k=3)
    scaled = [(p * factor, b) if which == "price" else (p, b * factor) for p, b in pairs]
    for a, b in zip(run(pairs, params), run(scaled, params), strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.rs_ratio == pytest.approx(b.rs_ratio, rel=1e-9)
            assert a.rs_momentum == pytest.approx(b.rs_momentum, rel=1e-9, abs=1e-9)


def test_sine_relative_rotates_clockwise_with_no_back_flips():
    points = final_points(sine_relative(300))
    order = {q: i for i, q in enumerate(QUADRANTS)}
    visits = [points[0].quadrant]
    for p in points[1:]:
        if p.quadrant != visits[-1]:
            visits.append(p.quadrant)
    # Each change of quadrant is one step clockwise: L -> W -> Lagging -> I -> L ...
    steps = [(order[b] - order[a]) % 4 for a, b in pairwise(visits)]
    assert steps and set(steps) == {1}
    assert len(visits) >= 4 * 4  # four full turns in 259 final bars


def test_sine_relative_heading_turns_about_minus_two_pi_per_cycle():
    points = final_points(sine_relative(300))
    angle = np.unwrap([math.atan2(p.rs_momentum - 100, p.rs_ratio - 100) for p in points])
    turns = np.diff(angle)
    assert (turns < 0).all()  # clockwise at every bar
    per_cycle = (angle[-1] - angle[0]) / len(turns) * 60
    assert per_cycle == pytest.approx(-2 * math.pi, rel=0.05)


def test_sine_relative_stays_within_the_published_range():
    points = final_points(sine_relative(300))
    ratios = [p.rs_ratio for p in points]
    momenta = [p.rs_momentum for p in points]
    # docs/analytics.md: values within about [97.4, 102.6] for m = 14, k = 10.
    assert 97.3 < min(ratios) < 97.6 and 102.4 < max(ratios) < 102.7
    assert min(momenta) > 97.3 and max(momenta) < 102.7


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(prices, prices), min_size=1, max_size=120),
    st.integers(min_value=1, max_value=15),
    st.integers(min_value=1, max_value=12),
)
def test_streaming_equals_plain_pandas(pairs, m, k):
    expected = pandas_rrg([p for p, _ in pairs], [b for _, b in pairs], m, k)
    for point, (_, row) in zip(run(pairs, RRGParams(m=m, k=k)), expected.iterrows(), strict=True):
        if point is None:
            assert math.isnan(row.rs_momentum)
            continue
        assert point.rs_ratio == pytest.approx(row.rs_ratio, rel=1e-9)
        assert point.rs_momentum == pytest.approx(row.rs_momentum, rel=1e-9, abs=1e-7)


def test_tail_keeps_the_last_committed_points_oldest_first():
    rrg = RelativeRotation(RRGParams(tail=5))
    out = [rrg.update(p, b) for p, b in sine_relative(50)]
    assert rrg.tail == tuple(out[-5:])


def test_preview_shows_the_forming_bar_without_committing_it():
    rrg = RelativeRotation()
    for p, b in sine_relative(60):
        rrg.update(p, b)
    before = rrg.to_state()
    head = rrg.preview(51.0, 50.0)
    assert rrg.to_state() == before
    assert head == rrg.update(51.0, 50.0)


def test_state_round_trip_through_json_continues_identically():
    pairs = sine_relative(90)
    rrg = RelativeRotation(RRGParams(m=10, k=5, tail=6))
    for p, b in pairs[:33]:
        rrg.update(p, b)
    restored = RelativeRotation.from_state(json.loads(json.dumps(rrg.to_state())))
    assert restored.tail == rrg.tail and restored.params == rrg.params
    for p, b in pairs[33:]:
        assert restored.update(p, b) == rrg.update(p, b)


def test_rejects_non_positive_prices_and_bad_parameters():
    with pytest.raises(ValueError, match="prices must be > 0"):
        RelativeRotation().update(-1.0, 10.0)
    with pytest.raises(ValueError, match="m must be >= 1"):
        RRGParams(m=0)
