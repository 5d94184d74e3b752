"""No rule speaks before its window is full: one test per rule, each fed from its first
bar what would fire it, silent through the warm-up and firing once it is over."""

from __future__ import annotations

import math

from agents.analytics.relative_strength import RelativeStrength, RSPoint
from agents.analytics.rrg import RelativeRotation, RRGParams
from agents.analytics.rules import (
    BreadthDivergence,
    BreadthThrust,
    CrossoverParams,
    PairInputs,
    RotationRegime,
    RrgQuadrantChange,
    RsBreakout,
    RsCrossover,
)
from agents.analytics.rules.group_crossovers import GroupCrossoverParams, GroupCrossovers


def first_fired(out: list) -> int:
    """Index of the first verdict; fails when nothing fired at all."""
    fired = [i for i, f in enumerate(out) if f is not None]
    assert fired, "the rule never fired: the test would not show a warm-up"
    return fired[0]


def test_rs_crossover_waits_for_a_full_sma():
    sma_bars = 10
    rs = RelativeStrength(sma_bars, 2, hysteresis_pct=1.0, zscore_bars=3)
    rule = RsCrossover("pair:A/B", CrossoverParams(sma_bars, 1.0), "A/B", "A", "B")
    out = []
    for i in range(40):
        # R jumps across any average every bar: a crossover on each bar once it counts.
        point, cross = rs.update(2.0 if i % 2 else 1.0, 1.0)
        out.append(rule.on_interval(PairInputs(point, cross, None)))
        assert rule.initialized == (i + 1 >= sma_bars)
    # The first state after the SMA is full is taken silently; the next flip speaks.
    assert first_fired(out) == rule.window_bars


def test_rs_breakout_waits_for_a_full_zscore_window():
    zscore_bars = 16  # one outlier among N returns reaches z = (N-1)/sqrt(N) at most
    rs = RelativeStrength(3, 2, zscore_bars=zscore_bars)
    rule = RsBreakout("pair:A/B", window_bars=zscore_bars, cooldown_bars=0)
    out = []
    r = 1.0
    for i in range(45):
        r *= 1.5 if i in (3, 30) else 1.0 + 0.001 * (-1) ** i  # shocks at bars 3 and 30
        point, cross = rs.update(r, 1.0)
        out.append(rule.on_interval(PairInputs(point, cross, None)))
    assert rule.initialized
    assert first_fired(out) == 30  # the shock of bar 3 came before z had its window
    assert first_fired(out) >= rule.window_bars


def test_rrg_quadrant_waits_for_final_rrg_points():
    params = RRGParams(m=5, k=3)
    rrg = RelativeRotation(params)
    rule = RrgQuadrantChange("pair:A/B", 1, window_bars=params.m, score_distance=0.01)
    out = []
    for i in range(120):
        point = rrg.update(100.0 * (1 + 0.05 * math.sin(i / 3)), 100.0)
        out.append(rule.on_interval(PairInputs(RSPoint(1.0, None, None, None, None), None, point)))
        if point is None or point.provisional:
            assert out[-1] is None and not rule.initialized
    assert first_fired(out) >= params.warmup_bars >= rule.window_bars


def test_breadth_thrust_waits_for_its_ema_window():
    rule = BreadthThrust("group:g", cooldown_bars=0, window_bars=10)
    # A thrust on every other bar from the first one.
    out = [rule.update(i % 2 == 0, 0.7) for i in range(30)]
    assert first_fired(out) == 10  # the first thrust bar once 10 bars were seen
    assert all(f is None for f in out[: rule.window_bars])


def test_breadth_divergence_waits_for_its_lookback():
    lookback = 20
    rule = BreadthDivergence("group:g", lookback_bars=lookback, cooldown_bars=0)
    # The index makes a new high on every bar while the A/D line falls: bearish from
    # bar 1 if the rule did not wait for a full lookback.
    out = [rule.update(100.0 + i, -float(i)) for i in range(40)]
    assert first_fired(out) == lookback == rule.window_bars
    assert out[lookback].direction == "down"


def test_rotation_regime_waits_for_its_sma_and_long_window():
    rule = RotationRegime("pair:A/B")
    out = []
    rs = 1.0
    for i in range(80):
        previous, rs = rs, rs * 1.011  # persistence and a shock (z) on every bar
        out.append(rule.update(rs, math.log(rs / previous) if i else None, 4.0, "leading"))
        assert rule.initialized == (i + 1 >= rule.warmup_bars)
    assert rule.warmup_bars == max(rule.params.sma_bars, rule.params.long_bars + 1)
    assert first_fired(out) == rule.warmup_bars - 1  # the first bar it is initialized
    assert rule.warmup_bars >= rule.window_bars


def test_group_crossovers_waits_for_its_window():
    rule = GroupCrossovers(
        "group:g", "g", ("A", "B", "C", "SPY"), "SPY", GroupCrossoverParams(0.6, 3, 0)
    )
    assert rule.members == ("A", "B", "C")  # the benchmark is no member of its own test
    everyone_up = {"A": "up", "B": "up", "C": "up"}
    out = [rule.update(everyone_up) for _ in range(6)]
    assert first_fired(out) == rule.window_bars - 1  # the bar the window is full
    assert out[2].summary == "3 of 3 g crossed above SPY within 3 bars"
