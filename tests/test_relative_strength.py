"""The pure RS module, checked against numbers worked out by hand."""

from __future__ import annotations

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
