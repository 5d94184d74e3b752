"""The pure RS module, checked against numbers worked out by hand."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from agents.analytics.relative_strength import RelativeStrength


def feed(rs: RelativeStrength, ratios: list[float]):
    return [rs.update(r * 100.0, 100.0) for r in ratios]


def test_rs_sma_change_and_distance_match_hand_computation():
    rs = RelativeStrength(sma_bars=3, change_bars=2)
    out = feed(rs, [1.0, 1.1, 1.2])
    point, cross = out[-1]
    assert point.rs == pytest.approx(1.2)
    assert point.sma == pytest.approx(1.1)  # (1.0 + 1.1 + 1.2) / 3
    assert point.vs_sma_pct == pytest.approx(9.090909, abs=1e-6)  # (1.2 / 1.1 - 1) * 100
    assert point.change_pct == pytest.approx(20.0)  # (1.2 / 1.0 - 1) * 100
    assert point.state == "above" and cross is None  # first state after warm-up is silent
    # Warm-up: no SMA before 3 bars, no change before 3 bars (2-bar lookback).
    assert out[0][0].sma is None and out[1][0].sma is None
    assert out[1][0].change_pct is None


def test_rs_crossing_below_its_average_is_a_down_signal():
    rs = RelativeStrength(sma_bars=3, change_bars=2)
    point, cross = feed(rs, [1.0, 1.1, 1.2, 0.9])[-1]
    assert point.sma == pytest.approx(3.2 / 3)  # (1.1 + 1.2 + 0.9) / 3
    assert cross is not None and cross.direction == "down"
    assert cross.vs_sma_pct == pytest.approx(-15.625)  # (0.9 / 1.06667 - 1) * 100
    assert point.change_pct == pytest.approx(-18.181818, abs=1e-6)  # 0.9 / 1.1 - 1


def test_price_relative_is_numerator_over_denominator():
    rs = RelativeStrength(sma_bars=1, change_bars=1)
    point, _ = rs.update(299.96, 713.44)
    assert point.rs == pytest.approx(0.420442, abs=1e-6)


def test_hysteresis_keeps_noise_inside_the_band_silent():
    rs = RelativeStrength(sma_bars=4, change_bars=1, hysteresis_pct=1.0)
    feed(rs, [1.0, 1.0, 1.0, 1.02])  # state above
    wiggle = [1.0 + 0.004 * (-1) ** i for i in range(50)]  # +-0.4% around the SMA
    assert all(cross is None for _, cross in feed(rs, wiggle))
    assert rs.state == "above"


def test_without_hysteresis_the_same_noise_flaps():
    rs = RelativeStrength(sma_bars=4, change_bars=1, hysteresis_pct=0.0)
    feed(rs, [1.0, 1.0, 1.0, 1.02])
    wiggle = [1.0 + 0.004 * (-1) ** i for i in range(50)]
    assert sum(cross is not None for _, cross in feed(rs, wiggle)) > 10


def test_cooldown_delays_a_flip_but_never_drops_it():
    rs = RelativeStrength(sma_bars=2, change_bars=1, cooldown_bars=5)
    feed(rs, [1.0, 1.1])  # above (silent)
    crosses = [c for _, c in feed(rs, [0.8])]  # down: first signal
    assert crosses[-1] is not None and crosses[-1].direction == "down"
    # Up again at once, and it stays up: the flip waits for the cooldown to pass.
    later = feed(rs, [1.2, 1.3, 1.4, 1.5, 1.6, 1.7])
    fired = [i for i, (_, c) in enumerate(later) if c is not None]
    assert fired == [4]  # 5 bars after the previous signal
    assert later[4][1].direction == "up" and later[4][1].bars_since_previous == 5


def test_rejects_non_positive_prices():
    with pytest.raises(ValueError, match="prices must be > 0"):
        RelativeStrength(2, 2).update(0.0, 1.0)


def test_log_return_is_ln_of_consecutive_ratios_and_none_on_the_first_bar():
    rs = RelativeStrength(sma_bars=2, change_bars=1)
    out = feed(rs, [1.0, 1.1, 0.99])
    assert out[0][0].log_return is None
    assert out[1][0].log_return == pytest.approx(math.log(1.1))
    assert out[2][0].log_return == pytest.approx(math.log(0.99 / 1.1))


def test_zscore_of_the_log_return_matches_a_hand_computation():
    ratios = [1.0, 1.01, 1.0, 1.02, 1.05]
    rs = RelativeStrength(sma_bars=2, change_bars=1, zscore_bars=4)
    out = feed(rs, ratios)
    # Four log returns are needed: None until the fifth bar.
    assert [p.zscore for p, _ in out[:4]] == [None] * 4
    returns = [math.log(b / a) for a, b in pairwise(ratios)]
    mean = sum(returns) / 4
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)  # sample sd, window incl. now
    assert out[4][0].zscore == pytest.approx((returns[-1] - mean) / sd)


def test_zscore_equals_pandas_rolling_over_a_random_walk():
    ratios = list(np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.01, 200))))
    rs = RelativeStrength(sma_bars=10, change_bars=5)
    zscores = [p.zscore for p, _ in feed(rs, ratios)]
    rho = np.log(pd.Series(ratios)).diff()
    expected = (rho - rho.rolling(20).mean()) / rho.rolling(20).std()
    for got, want in zip(zscores, expected, strict=True):
        assert (got is None and math.isnan(want)) or got == pytest.approx(want, rel=1e-9)


def test_zscore_is_none_when_the_log_returns_do_not_vary():
    rs = RelativeStrength(sma_bars=2, change_bars=1, zscore_bars=3)
    out = feed(rs, [1.0] * 8)
    assert all(p.zscore is None for p, _ in out)


def test_streak_counts_bars_where_the_numerator_beats_the_denominator():
    rs = RelativeStrength(sma_bars=2, change_bars=1)
    out = feed(rs, [1.0, 1.01, 1.02, 1.03, 1.03, 1.04, 1.0, 1.01])
    # A tie (1.03 -> 1.03) and a loss both reset the streak.
    assert [p.streak for p, _ in out] == [0, 1, 2, 3, 0, 1, 0, 1]


def test_zscore_bars_needs_a_sample_sd():
    with pytest.raises(ValueError, match="zscore_bars"):
        RelativeStrength(2, 2, zscore_bars=1)


def test_state_round_trip_through_json_continues_identically():
    ratios = list(np.exp(np.cumsum(np.random.default_rng(11).normal(0, 0.01, 120))))
    rs = RelativeStrength(sma_bars=8, change_bars=3, hysteresis_pct=0.2, cooldown_bars=4)
    first = feed(rs, ratios[:50])
    assert any(c is not None for _, c in first)  # the cooldown clock is part of the state
    restored = RelativeStrength.from_state(json.loads(json.dumps(rs.to_state())))
    assert feed(restored, ratios[50:]) == feed(rs, ratios[50:])
