"""Signal rules: each fires where it must and stays silent where it must not."""

from __future__ import annotations

import json
import math

import pytest

from agents.analytics.rrg import RelativeRotation
from agents.analytics.rules import (
    RULES,
    BreadthDivergence,
    BreadthThrust,
    Fired,
    RegimeParams,
    RotationRegime,
    RrgQuadrantChange,
    RsBreakout,
    Subject,
)
from rotation.config import load_universe


def fired(outputs: list[Fired | None]) -> list[tuple[int, Fired]]:
    return [(i, f) for i, f in enumerate(outputs) if f is not None]


def round_trip(rule):
    return type(rule).from_state(json.loads(json.dumps(rule.to_state())))


# rs_breakout


def test_breakout_fires_up_and_down_at_the_z_threshold():
    rule = RsBreakout("IWM/QQQ", cooldown_bars=0)
    out = [rule.update(z) for z in [0.2, 2.9, 3.0, 0.1, -3.4]]
    assert [(i, f.direction) for i, f in fired(out)] == [(2, "up"), (4, "down")]
    up = out[2]
    assert up.kind == "rs_breakout" and up.subject == "IWM/QQQ"
    assert up.evidence["strength"] == 3.0 and up.evidence["zscore"] == 3.0
    assert up.score == 50.0  # |z| at the threshold scores 50
    assert out[4].score == pytest.approx(50 * 3.4 / 3.0)


def test_breakout_rearms_only_after_z_falls_back_below_rearm():
    rule = RsBreakout("IWM/QQQ", z_threshold=3.0, rearm=1.0, cooldown_bars=0)
    # Still hot (|z| >= 1) between the two shocks: one episode, one signal.
    out = [rule.update(z) for z in [3.5, 1.5, 3.6, 1.2, -3.1, 0.9, 3.2]]
    assert [i for i, _ in fired(out)] == [0, 6]


def test_breakout_is_silent_during_the_cooldown_and_drops_that_shock():
    rule = RsBreakout("IWM/QQQ", cooldown_bars=10)
    out = [rule.update(z) for z in [3.5, 0.0, 3.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.2]]
    # Bar 2 is inside the cooldown (and disarms the rule); bar 10 would be the first
    # allowed bar, but bar 11 is the next shock.
    assert [i for i, _ in fired(out)] == [0, 11]
    assert out[11].evidence["bars_since_previous"] == 11.0


def test_breakout_ignores_bars_without_a_zscore():
    rule = RsBreakout("IWM/QQQ")
    assert [rule.update(None) for _ in range(5)] == [None] * 5
    assert rule.update(4.0, log_return=0.021).evidence["log_return_pp"] == pytest.approx(2.1)


def test_breakout_state_round_trip_continues_identically():
    zs = [3.5, 1.5, 0.5, 3.3, 0.2, -3.9, 0.0, 3.1, 0.4, -3.0, 0.0, 4.0]
    rule = RsBreakout("IWM/QQQ", cooldown_bars=3)
    for z in zs[:5]:
        rule.update(z)
    restored = round_trip(rule)
    assert [restored.update(z) for z in zs[5:]] == [rule.update(z) for z in zs[5:]]


# rrg_quadrant

LEADING, WEAKENING, LAGGING, IMPROVING = (101, 101), (101, 99), (99, 99), (99, 101)


def test_quadrant_change_fires_once_the_new_quadrant_has_held_for_min_dwell_bars():
    rule = RrgQuadrantChange("IWM", min_dwell_bars=2)
    out = [rule.update(*p) for p in [LEADING, LEADING, WEAKENING, WEAKENING, WEAKENING]]
    assert [i for i, _ in fired(out)] == [3]
    signal = out[3]
    assert signal.direction == "down"
    assert signal.evidence["from_quadrant"] == "leading"
    assert signal.evidence["to_quadrant"] == "weakening"
    assert signal.evidence["rs_ratio"] == 101 and signal.evidence["rs_momentum"] == 99
    assert signal.evidence["strength"] == pytest.approx(math.sqrt(2))
    assert signal.score == pytest.approx(50 * math.sqrt(2) / 2.0)  # 50 at distance 2


def test_first_settled_quadrant_is_taken_silently():
    rule = RrgQuadrantChange("IWM")
    assert [rule.update(*p) for p in [LAGGING, LAGGING, LAGGING]] == [None] * 3
    assert rule.quadrant == "lagging"


def test_one_bar_flicker_across_an_axis_is_not_a_signal():
    rule = RrgQuadrantChange("IWM", min_dwell_bars=2)
    path = [LEADING, LEADING, WEAKENING, LEADING, WEAKENING, LEADING, LEADING]
    assert all(f is None for f in (rule.update(*p) for p in path))
    assert rule.quadrant == "leading"


def test_quadrant_direction_is_up_into_leading_or_improving():
    rule = RrgQuadrantChange("IWM", min_dwell_bars=1)
    out = [rule.update(*p) for p in [LEADING, WEAKENING, LAGGING, IMPROVING, LEADING]]
    assert [f.direction for _, f in fired(out)] == ["down", "down", "up", "up"]


def test_provisional_and_missing_points_are_ignored():
    rule = RrgQuadrantChange("IWM", min_dwell_bars=1)
    rule.update(*LEADING)
    assert rule.update(*LAGGING, provisional=True) is None
    assert rule.update(None, None) is None
    assert rule.quadrant == "leading"


def test_quadrant_rule_follows_a_rotating_rrg_clockwise():
    rrg, rule = RelativeRotation(), RrgQuadrantChange("sine")
    out = []
    for t in range(300):
        point = rrg.update(50 * (1 + 0.05 * math.sin(2 * math.pi * t / 60)), 50.0)
        out.append(
            None
            if point is None
            else rule.update(point.rs_ratio, point.rs_momentum, point.provisional)
        )
    moves = [f.evidence["to_quadrant"] for _, f in fired(out)]
    assert moves[:4] in (
        ["leading", "weakening", "lagging", "improving"],
        ["improving", "leading", "weakening", "lagging"],
        ["weakening", "lagging", "improving", "leading"],
        ["lagging", "improving", "leading", "weakening"],
    )
    assert len(moves) >= 15  # one signal per quadrant change, no repeats


def test_quadrant_state_round_trip_continues_identically():
    path = [LEADING, LEADING, WEAKENING, LAGGING, LAGGING, IMPROVING, LEADING, LEADING]
    rule = RrgQuadrantChange("IWM")
    for p in path[:3]:
        rule.update(*p)
    restored = round_trip(rule)
    assert [restored.update(*p) for p in path[3:]] == [rule.update(*p) for p in path[3:]]


# breadth_thrust


def test_thrust_fires_up_on_the_first_bar_of_a_thrust_only():
    rule = BreadthThrust("russell_2000", window_bars=1)
    out = [rule.update(t, 0.64) for t in [False, True, True, True, False]]
    assert [(i, f.direction) for i, f in fired(out)] == [(1, "up")]
    assert out[1].evidence["strength"] == 0.64 and out[1].evidence["zweig_ema"] == 0.64
    assert out[1].score == pytest.approx(50 * 0.64 / 0.615)


def test_thrust_is_silent_during_the_cooldown():
    rule = BreadthThrust("russell_2000", cooldown_bars=20, window_bars=1)
    flags = [True, False] + [False] * 8 + [True, False] + [False] * 8 + [True]
    out = [rule.update(flag, 0.62) for flag in flags]
    # Bar 10 is a new thrust inside the cooldown; bar 20 is the first bar after it.
    assert [i for i, _ in fired(out)] == [0, 20]


def test_thrust_state_round_trip_continues_identically():
    flags = [True, False, True, False, False, True, True, False, True]
    rule = BreadthThrust("russell_2000", cooldown_bars=3)
    for flag in flags[:3]:
        rule.update(flag, 0.7)
    restored = round_trip(rule)
    assert [restored.update(f, 0.7) for f in flags[3:]] == [rule.update(f, 0.7) for f in flags[3:]]


# breadth_divergence


def rally(bars: int) -> list[float]:
    return [100.0 + 0.5 * i for i in range(bars)]


def test_bearish_divergence_index_new_high_without_the_ad_line():
    rule = BreadthDivergence("small_caps", lookback_bars=5)
    # The A/D line peaks at 50 on bar 3 and fades while the index keeps rising.
    ad = [10.0, 20.0, 30.0, 50.0, 40.0, 35.0]
    out = [rule.update(i, a) for i, a in zip(rally(6), ad, strict=True)]
    assert [(i, f.direction) for i, f in fired(out)] == [(5, "down")]
    signal = out[5]
    assert signal.evidence["ad_prior_high"] == 50.0 and signal.evidence["ad_line"] == 35.0
    shortfall = (50 - 35) / (50 - 10)  # shortfall / A/D range
    assert signal.evidence["strength"] == pytest.approx(shortfall)
    assert signal.score == pytest.approx(100 * shortfall)  # 50 at half the range


def test_no_divergence_when_the_ad_line_confirms_the_new_high():
    rule = BreadthDivergence("small_caps", lookback_bars=5)
    out = [rule.update(i, 10.0 * k) for k, i in enumerate(rally(30))]
    assert fired(out) == []


def test_bullish_divergence_index_new_low_without_the_ad_line():
    rule = BreadthDivergence("small_caps", lookback_bars=5)
    index = [100.0, 99.0, 98.0, 97.0, 96.0, 95.0]
    ad = [0.0, -10.0, -30.0, -20.0, -15.0, -12.0]
    out = [rule.update(i, a) for i, a in zip(index, ad, strict=True)]
    assert [(i, f.direction) for i, f in fired(out)] == [(5, "up")]
    assert out[5].score == pytest.approx(100 * (-12 - -30) / (0 - -30))


def test_divergence_waits_for_a_full_lookback_and_its_cooldown():
    rule = BreadthDivergence("small_caps", lookback_bars=5, cooldown_bars=4)
    ad = [50.0] + [0.0] * 14  # never again at its high while the index rallies
    out = [rule.update(i, a) for i, a in zip(rally(15), ad, strict=True)]
    assert [i for i, _ in fired(out)] == [5, 9, 13]


def test_divergence_state_round_trip_continues_identically():
    index = [100, 101, 103, 102, 104, 106, 105, 107, 103, 99, 98, 97, 96, 97, 95]
    ad = [0, 5, 9, 7, 8, 6, 4, 3, 1, -3, -2, -1, 0, 1, 2]
    rule = BreadthDivergence("small_caps", lookback_bars=4, cooldown_bars=2)
    for i, a in zip(index[:6], ad[:6], strict=True):
        rule.update(i, a)
    restored = round_trip(rule)
    rest = list(zip(index[6:], ad[6:], strict=True))
    assert [restored.update(i, a) for i, a in rest] == [rule.update(i, a) for i, a in rest]


# rotation_regime


class Pair:
    """Feeds a regime detector the way the RS tracker would: rho_1 from consecutive R."""

    def __init__(self, params: RegimeParams | None = None) -> None:
        self.rule = RotationRegime("IWM/QQQ", params)
        self.last: float | None = None

    def bar(self, rs, *, z=None, quadrant=None, small=False, mega=False) -> Fired | None:
        log_return = None if self.last is None else math.log(rs / self.last)
        self.last = rs
        return self.rule.update(rs, log_return, z, quadrant, small, mega)

    def trend(self, bars: int, step_pct: float, **kwargs) -> list[Fired | None]:
        start = self.last or 1.0
        return [self.bar(start * (1 + step_pct / 100) ** (i + 1), **kwargs) for i in range(bars)]


def flat_pair(bars: int = 60) -> Pair:
    pair = Pair()
    assert all(pair.bar(1.0) is None for _ in range(bars))
    return pair


def test_one_bar_shock_that_does_not_last_is_watch_not_rotation():
    pair = flat_pair()
    shock = pair.bar(1.015, z=3.4, quadrant="improving")
    assert shock is not None and shock.direction == "into_small_caps"
    assert shock.evidence["grade"] == "watch" and shock.evidence["shock"] == 1.0
    rest = [pair.bar(1.015, quadrant="improving") for _ in range(10)]
    assert fired(rest) == []
    assert pair.rule.grade is None  # faded silently after exit_bars without a shock


def test_two_bars_of_two_points_relative_return_are_a_shock():
    pair = flat_pair()
    assert pair.bar(1.021) is None  # one bar of +2.1 pp is not enough
    second = pair.bar(1.021**2)
    assert second is not None and second.evidence["grade"] == "watch"


def test_rotation_needs_regime_and_persistence():
    pair = flat_pair()
    out = pair.trend(8, 1.1, quadrant="improving")
    # R leaves its flat 50-bar SMA at once, but rho_5 reaches 5 pp only on bar 5.
    [(i, signal)] = fired(out)
    assert i == 4 and signal.direction == "into_small_caps"
    assert signal.evidence["grade"] == "rotation"
    assert signal.evidence["rho_short_pp"] == pytest.approx(5 * 100 * math.log(1.011))
    assert (signal.evidence["regime"], signal.evidence["persistence"]) == (1.0, 1.0)
    assert signal.evidence["breadth"] == 0.0
    assert signal.evidence["strength"] == 2.0 and signal.score == 50.0


def test_rotation_without_the_rrg_turning_is_not_a_regime():
    pair = flat_pair()
    assert fired(pair.trend(10, 1.1, quadrant="lagging")) == []
    assert fired(pair.trend(10, 1.1, quadrant=None)) == []


def test_a_lasting_rotation_signals_once():
    pair = flat_pair()
    assert len(fired(pair.trend(40, 0.8, quadrant="leading"))) == 1


def test_breadth_confirmation_broadens_and_its_loss_narrows_after_exit_bars():
    pair = flat_pair()
    pair.trend(6, 1.1, quadrant="leading")
    assert pair.rule.grade == "rotation"
    broadening = pair.trend(1, 1.1, quadrant="leading", small=True)[0]
    assert broadening.direction == "broadening"
    assert broadening.evidence["grade"] == "broad_rotation" and broadening.score == 75.0
    # Breadth for the other side does not confirm this one.
    out = pair.trend(2, 1.1, quadrant="leading", mega=True)
    out += pair.trend(1, 1.1, quadrant="leading", small=True)
    assert fired(out) == []  # two bars without breadth are inside the hysteresis
    out = pair.trend(3, 1.1, quadrant="leading")
    [(i, narrowing)] = fired(out)
    assert i == 2 and narrowing.direction == "narrowing"
    assert narrowing.evidence["grade"] == "rotation"
    assert narrowing.evidence["previous_grade"] == "broad_rotation"


def test_straight_to_broad_rotation_is_an_entry_not_a_broadening():
    pair = flat_pair()
    [(_, signal)] = fired(pair.trend(6, 1.1, quadrant="leading", small=True))
    assert signal.direction == "into_small_caps"
    assert signal.evidence["grade"] == "broad_rotation"


def test_regime_ends_only_after_exit_bars_of_failed_criteria():
    pair = flat_pair()
    pair.trend(6, 1.1, quadrant="leading")
    assert fired(pair.trend(2, 1.1, quadrant="weakening")) == []
    assert fired(pair.trend(3, 1.1, quadrant="leading")) == []
    assert pair.rule.grade == "rotation"
    pair.trend(3, 1.1, quadrant="weakening")
    assert pair.rule.grade is None  # ended silently
    # Back to the signalled side and grade within repeat_bars: the same regime, not
    # signalled again (it never stopped for a consumer, who saw no signal of its end).
    assert fired(pair.trend(1, 1.1, quadrant="leading")) == []
    assert pair.rule.grade == "rotation"


def test_a_regime_back_after_repeat_bars_away_is_a_new_signal():
    pair = Pair(RegimeParams(repeat_bars=2))
    assert all(pair.bar(1.0) is None for _ in range(60))
    [(_, first)] = fired(pair.trend(6, 1.1, quadrant="leading"))
    # exit_bars (3) to end it, then more than repeat_bars (2) bars away from it.
    assert fired(pair.trend(6, 1.1, quadrant="weakening")) == []
    assert pair.rule.grade is None
    [(_, again)] = fired(pair.trend(1, 1.1, quadrant="leading"))
    assert again.direction == first.direction == "into_small_caps"
    assert again.evidence["grade"] == "rotation"


def test_a_restarted_regime_rule_does_not_repeat_its_last_signal():
    pair = flat_pair()
    assert len(fired(pair.trend(6, 1.1, quadrant="leading"))) == 1
    pair.trend(3, 1.1, quadrant="weakening")
    assert pair.rule.grade is None
    pair.rule = RotationRegime.from_state(json.loads(json.dumps(pair.rule.to_state())))
    assert fired(pair.trend(1, 1.1, quadrant="leading")) == []
    assert pair.rule.label == "into_small_caps:rotation"


def test_the_regime_rule_is_silent_before_its_windows_are_full():
    pair = Pair()
    # A shock on the first bars would be a watch; nothing before the SMA is full.
    out = [pair.bar(1.0 + 0.03 * i, z=4.0, quadrant="improving") for i in range(50)]
    assert fired(out[: pair.rule.warmup_bars - 1]) == []
    assert pair.rule.initialized


def test_rotation_into_mega_caps_is_the_mirror_image():
    pair = flat_pair()
    [(i, signal)] = fired(pair.trend(8, -1.1, quadrant="lagging"))
    assert i == 4 and signal.direction == "into_mega_caps"
    assert signal.evidence["grade"] == "rotation" and signal.evidence["side"] == "into_mega_caps"
    assert signal.evidence["rho_short_pp"] < -5


def test_streak_of_seven_is_persistence():
    pair = flat_pair()
    [(i, signal)] = fired(pair.trend(9, 0.2, quadrant="leading"))
    assert i == 6 and signal.evidence["streak"] == 7.0


def test_reversal_waits_for_the_held_regime_to_exit():
    pair = flat_pair()
    assert pair.bar(1.015, z=3.5).direction == "into_small_caps"
    out = [pair.bar(1.0, z=-3.5), pair.bar(0.985, z=-3.5), pair.bar(0.97, z=-3.5)]
    [(i, signal)] = fired(out)
    assert i == 2 and signal.direction == "into_mega_caps"
    assert signal.evidence["grade"] == "watch"


def test_every_signal_lists_each_criterion_and_its_value():
    pair = flat_pair()
    [(_, signal)] = fired(pair.trend(6, 1.1, quadrant="leading"))
    for key in (
        "grade",
        "previous_grade",
        "side",
        "shock",
        "regime",
        "persistence",
        "breadth",
        "rs",
        "rs_sma",
        "rs_sma_change",
        "quadrant",
        "zscore",
        "log_return_pp",
        "rho_short_pp",
        "rho_long_pp",
        "streak",
    ):
        assert key in signal.evidence
    assert all(isinstance(v, float | str | type(None)) for v in signal.evidence.values())
    assert signal.summary.startswith("IWM/QQQ: rotation into small caps")


def test_regime_state_round_trip_continues_identically():
    def script(pair: Pair) -> list[Fired | None]:
        return (
            pair.trend(4, 1.1, quadrant="leading")
            + pair.trend(4, 1.1, quadrant="leading", small=True)
            + pair.trend(4, -1.5, quadrant="weakening", z=-3.2)
            + pair.trend(10, -1.5, quadrant="lagging")
        )

    original = flat_pair()
    original.trend(3, 1.1, quadrant="leading")
    copy = Pair()
    copy.rule, copy.last = round_trip(original.rule), original.last
    expected = script(original)
    assert len(fired(expected)) >= 3
    assert script(copy) == expected


def test_regime_params_default_to_analytics_md():
    p = RegimeParams()
    assert (p.shock_z, p.shock_return_pp, p.shock_return_bars) == (3.0, 2.0, 2)
    assert (p.sma_bars, p.short_bars, p.short_return_pp) == (50, 5, 5.0)
    assert (p.long_bars, p.long_return_pp, p.streak_bars, p.exit_bars) == (21, 8.0, 7, 3)
    with pytest.raises(ValueError, match="exit_bars"):
        RegimeParams(exit_bars=0)


# the common interface: initialized, reset, window_bars, configure


def test_reset_makes_every_rule_behave_as_a_new_one():
    cases = [
        (
            lambda: RsBreakout("IWM/QQQ", cooldown_bars=3),
            [(z,) for z in [3.5, 0.5, 3.2, -3.4, 0.2]],
        ),
        (lambda: RrgQuadrantChange("IWM", 1), [LEADING, WEAKENING, LAGGING, IMPROVING, LEADING]),
        (
            lambda: BreadthThrust("g", 2, window_bars=1),
            [(t, 0.7) for t in [False, True, False, True, True]],
        ),
        (
            lambda: BreadthDivergence("g", 3, 0),
            list(zip(rally(8), [1.0, 2.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5], strict=True)),
        ),
    ]
    for make, inputs in cases:
        rule, fresh = make(), make()
        first = [rule.update(*x) for x in inputs]
        assert any(f is not None for f in first), type(rule).__name__
        rule.reset()
        assert not rule.initialized
        assert rule.to_state() == fresh.to_state()
        assert [rule.update(*x) for x in inputs] == first


def test_regime_reset_forgets_the_held_regime():
    pair = flat_pair()
    assert any(pair.trend(30, 1.0, quadrant="leading", small=True))
    assert pair.rule.grade is not None and pair.rule.initialized
    pair.rule.reset()
    assert pair.rule.grade is None and pair.rule.label is None and not pair.rule.initialized
    assert pair.rule.to_state() == RotationRegime("IWM/QQQ").to_state()


def test_initialized_once_the_warm_up_is_over():
    breakout = RsBreakout("IWM/QQQ")
    breakout.update(None)
    assert not breakout.initialized
    breakout.update(0.5)
    assert breakout.initialized
    quadrant = RrgQuadrantChange("IWM", 2)
    quadrant.update(*LEADING)
    assert not quadrant.initialized  # not settled yet
    quadrant.update(*LEADING)
    assert quadrant.initialized
    divergence = BreadthDivergence("g", lookback_bars=3)
    for i, level in enumerate(rally(3)):
        assert not divergence.initialized, i
        divergence.update(level, 1.0)
    assert divergence.initialized


def test_each_rule_configures_itself_from_the_configuration():
    universe = load_universe()
    by_name = {spec.name: spec for spec in universe.all_pairs()}
    regime_pair = next(spec for spec in universe.pairs if spec.regime)
    symbol_pair = next(s for s in by_name.values() if s.origin == "symbol_vs_benchmark")
    group = next(iter(universe.groups))

    def kinds(subject: Subject) -> list[str]:
        return [r.kind for r in (rule.configure(subject, universe) for rule in RULES) if r]

    assert kinds(Subject(regime_pair.name, regime_pair)) == [
        "rs_crossover",
        "rs_breakout",
        "rrg_quadrant",
        "rotation_regime",
    ]
    # Quadrant signals of symbol vs benchmark pairs are off in the shipped file.
    assert universe.signals.symbol_quadrant_signals is False
    assert kinds(Subject(symbol_pair.name, symbol_pair)) == ["rs_crossover", "rs_breakout"]
    assert universe.signals.detail is False  # so group_crossovers sums symbols up
    assert kinds(Subject(group)) == ["breadth_thrust", "breadth_divergence", "group_crossovers"]

    # Each rule's window comes from its own parameters.
    rules = {
        r.kind: r
        for rule in RULES
        for r in (
            rule.configure(Subject(regime_pair.name, regime_pair), universe),
            rule.configure(Subject(group), universe),
        )
        if r is not None
    }
    assert {kind: rule.window_bars for kind, rule in rules.items()} == {
        "rs_crossover": universe.relative_strength.sma_bars,
        "rs_breakout": universe.relative_strength.zscore_bars,
        "rrg_quadrant": universe.rrg.m,
        # The window, the span, and 15 bars until the span-10 EMA's seed weighs < 5%.
        "breadth_thrust": max(universe.breadth.zweig_window, universe.breadth.zweig_span, 15),
        "breadth_divergence": universe.signals.divergence_lookback_bars,
        "rotation_regime": universe.regime.long_bars,
        "group_crossovers": universe.signals.breadth_crossover_bars,
    }
    assert rules["rs_crossover"].subject == f"pair:{regime_pair.name}"
    assert rules["breadth_thrust"].subject == f"group:{group}"


def test_the_engine_finds_every_rule_module_without_a_table():
    """A rule is a module of agents/analytics/rules/: the engine's list is every rule
    class there, in feed order, each kind once."""
    import pkgutil

    import agents.analytics.rules as rules_package

    helpers = {"base", "levels", "scores"}  # what every rule shares, not rules
    modules = {m.name for m in pkgutil.iter_modules(rules_package.__path__)} - helpers
    assert {rule.__module__.rsplit(".", 1)[1] for rule in RULES} == modules
    assert [rule.feed_order for rule in RULES] == sorted(rule.feed_order for rule in RULES)
    assert [rule.kind for rule in RULES] == [
        "rs_crossover",
        "rs_breakout",
        "rrg_quadrant",
        "breadth_thrust",
        "breadth_divergence",
        "rotation_regime",
        "group_crossovers",
    ]
